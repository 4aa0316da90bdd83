"""The synthetic data set: layout, counts, determinism, and spills that look different."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spillguard.data import labelled_sources, load_sources, training_sources
from spillguard.data.synthetic import SynthSpec, draw_pit, write_synth


def test_layout_and_counts(tiny_data: Path) -> None:
    assert len(list((tiny_data / "train").glob("*.jpg"))) == 320
    assert len(list((tiny_data / "proliv").glob("*.jpg"))) == 30
    lines = (tiny_data / "test" / "test_annotation.txt").read_text().splitlines()
    assert len(lines) == 120
    assert sum(int(line.split()[1]) for line in lines) == 20


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    spec = SynthSpec(5, 2, 3, 1)
    a = write_synth(tmp_path / "a", seed=3, spec=spec)
    b = write_synth(tmp_path / "b", seed=3, spec=spec)
    c = write_synth(tmp_path / "c", seed=4, spec=spec)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "train" / "pit_00000.jpg").read_bytes() != (c / "train" / "pit_00000.jpg").read_bytes()


def test_images_look_like_the_real_crops() -> None:
    rng = np.random.default_rng(0)
    normal = [draw_pit(rng, spill=False) for _ in range(50)]
    spill = [draw_pit(rng, spill=True) for _ in range(50)]
    assert all(25 <= im.shape[0] <= 30 and 44 <= im.shape[1] <= 54 for im in normal + spill)
    # greenish metal: green is the brightest channel on average
    mean = np.mean([im.reshape(-1, 3).mean(0) for im in normal], axis=0)
    assert mean[1] > mean[0] and mean[1] > mean[2]
    # spills add bright pixels
    bright_n = np.mean([np.mean(im.min(axis=2) > 200) for im in normal])
    bright_s = np.mean([np.mean(im.min(axis=2) > 200) for im in spill])
    assert bright_s > 5 * bright_n + 0.005


def test_loads_through_the_course_layout(tiny_data: Path) -> None:
    tr = load_sources(training_sources(tiny_data), (32, 48))
    assert tr.images.shape == (350, 32, 48, 3) and tr.labels.sum() == 30
    te = load_sources(labelled_sources(tiny_data), (32, 48))
    assert te.images.shape[0] == 120 and te.labels.sum() == 20
