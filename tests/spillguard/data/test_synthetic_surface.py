"""The surface domain: layout, determinism, greyscale 256x256 images, defects of 1-3% of the area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spillguard.data.synthetic_surface import DEFECTS, SurfaceSpec, add_defect, draw_surface, write_surface


def test_layout_counts_and_same_seed_same_bytes(tmp_path: Path) -> None:
    spec = SurfaceSpec(4, 2, 3, 2)
    a = write_surface(tmp_path / "a", seed=1, spec=spec)
    b = write_surface(tmp_path / "b", seed=1, spec=spec)
    assert len(list((a / "train").glob("*.jpg"))) == 4 and len(list((a / "proliv").glob("*.jpg"))) == 2
    lines = (a / "test" / "test_annotation.txt").read_text().splitlines()
    assert len(lines) == 5 and sum(int(x.split()[1]) for x in lines) == 2
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    with Image.open(a / "train" / "surf_00000.jpg") as im:
        assert im.mode == "L" and im.size == (256, 256)


@pytest.mark.parametrize("kind", DEFECTS)
def test_defects_cover_about_one_to_three_percent(kind: str) -> None:
    rng = np.random.default_rng(3)
    areas = []
    for _ in range(8):
        clean = draw_surface(rng)
        areas.append((np.abs(add_defect(clean, rng, kind) - clean) > 0.02).mean())
    assert 0.004 < np.median(areas) < 0.05, areas
