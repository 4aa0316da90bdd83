"""Behaviour stays as it is: the shipped default retrained with today's code gives the scores recorded
before the package was regrouped (issue 9): the same verdicts, labels and rule exactly, and the scores,
reconstruction scores and thresholds to a relative 1e-4 (``RTOL``; plus ``ATOL`` for scores near zero).

Recorded at commit 21066c1 (flat ``src/spillguard/``) with one torch thread (SPILLGUARD_THREADS=1):
- ``baseline_synth.npz``: ``TrainConfig()`` (seed 0) trained on ``spillguard synth --seed 0`` data
  (800 train, 60 proliv), scored on its 300 test images;
- ``baseline_real.npz``: ``TrainConfig()`` (seed 0) trained on ``../shared/data/spills`` as the README
  does (``spillguard train ../shared/data/spills -o runs/default --seed 0``), scored on ``test/``.
Each holds the head's scores (float32), the auxiliary reconstruction score of the frozen-encoder
decoder (``recon``, float32), the verdicts at the run's rule, and the thresholds.

Not byte for byte (issue 23): torch picks its kernels for the CPU it runs on (AVX2, AVX-512, ...), and
their float sums differ in the last bits while every verdict stays the same. So that such a kernel
difference shows up on every machine, not only on a newcomer's, one test also runs the comparison in a
subprocess with torch's portable kernels (``ATEN_CPU_CAPABILITY=default``) beside the machine's own.
To re-record after a deliberate change of the maths, run
``SPILLGUARD_THREADS=1 python tests/spillguard/test_baseline_scores.py [synth|real]`` and say why;
``--out DIR --model CKPT DATA`` writes scores to DIR instead (what the portable-kernels test runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources, training_sources
from spillguard.detector import SpillDetector
from spillguard.training.input_size import choose_input_size, image_sizes

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# How close "the same scores" is: relative to each value, with an absolute floor for scores near zero
# (the real test half has head scores down to 4e-5). A claim about arithmetic: the same trained model
# scored with other kernels, or a retrain whose kernels round only the last bits differently (AVX2 vs
# AVX-512, issue 23). Verdicts, labels and the rule are compared exactly, always.
RTOL = 1e-4
ATOL = 1e-6
# A retrain with the portable kernels is another float path through 4 epochs of Adam, and training
# amplifies last-bit differences: measured on the synth baseline (AMD EPYC, AVX2 vs default),
# thresholds 1.0e-2 relative apart, scores up to 0.18 (median 0.03), verdicts all equal. What such a
# retrain must keep: every verdict, the thresholds to RETRAIN_RTOL_THRESHOLDS, the scores to RETRAIN_RTOL.
RETRAIN_RTOL_THRESHOLDS = 3e-2
RETRAIN_RTOL = 0.5
# The real baseline's auxiliary ``recon`` (never a verdict) comes from a decoder trained 5 more epochs
# on the head's frozen encoder over 9,000 pits: the longest float path of the baseline, where last-bit
# kernel differences grow most. Measured on a CPU other than the recording one (2026-12-07, the code
# of the last green CI, c7a42d3): head scores and thresholds within RTOL, verdicts all equal, recon up to
# 0.072 apart (272 x RTOL). Its tolerance is the retrain's; scores, thresholds and verdicts keep theirs.
RECON_RTOL_REAL = RETRAIN_RTOL


# the schedule of the default before issue 13; the default now chooses it from the data: the same for
# the 9,000 real training pits, more epochs for the 720 procedural ones (few images, more passes)
PRE_ISSUE_13 = TrainConfig(epochs=4, batch_size=128)


def baseline(data: Path, test: Path, cfg: TrainConfig | None = None) -> dict[str, Any]:
    """Train the shipped default (or ``cfg``) on ``data`` and score ``test``: what the baseline files hold."""
    return scored(fitted(data, cfg), test)


def fitted(data: Path, cfg: TrainConfig | None = None) -> SpillDetector:
    """The shipped default (or ``cfg``) trained on ``data`` at the input size `spillguard train` picks."""
    cfg = cfg or TrainConfig()
    src = training_sources(data)
    normal_paths = [p for p, y in zip(src.paths, src.labels, strict=True) if y == 0]
    choice = choose_input_size(image_sizes(normal_paths), cfg.input_pixels)  # as `spillguard train` does
    size = (choice.height, choice.width)
    assert size == (32, 48)  # the size the recorded pit scores were made at (issue 13)
    ds = load_sources(src, size)
    det = SpillDetector(cfg).fit(ds.images[ds.labels == 0], ds.images[ds.labels == 1])
    assert det.config.schedule == (4, 128) and det.config.anomalies == {"pit": 1.0}  # chosen or given
    return det


def scored(det: SpillDetector, test: Path) -> dict[str, Any]:
    """What the baseline files hold: ``det``'s scores, verdicts and thresholds on the images of ``test``."""
    assert det.config.height is not None and det.config.width is not None
    ts = load_sources(labelled_sources(test), (det.config.height, det.config.width))
    return {
        "scores": det.score_samples(ts.images).astype(np.float32),
        "recon": det.recon_score(ts.images).astype(np.float32),
        "verdicts": det.predict(ts.images),
        "labels": ts.labels.astype(np.int8),
        "threshold_names": np.array(sorted(det.thresholds_)),
        "threshold_values": np.array([det.thresholds_[k] for k in sorted(det.thresholds_)], np.float64),
        "threshold_rule": np.array(det.threshold_rule_),
    }


def _synth(folder: Path) -> Path:
    from spillguard.data.synthetic import write_synth

    return write_synth(folder / "synth", seed=0)  # the defaults of `spillguard synth --seed 0`


def _close(name: str, got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    assert got.shape == want.shape, (name, got.shape, want.shape)
    diff = np.abs(got.astype(np.float64) - want)
    worst = float(np.max(diff / (ATOL + rtol * np.abs(want)), initial=0.0))
    assert np.allclose(got, want, rtol=rtol, atol=ATOL), (
        f"{name}: {worst:.1f} x the tolerance (rtol {rtol}, atol {ATOL}); largest difference {diff.max():.3g}"
    )


def _check(
    got: dict[str, Any],
    want: Any,
    rtol: float = RTOL,
    rtol_thresholds: float | None = None,
    rtol_recon: float | None = None,
) -> None:
    """``got`` matches ``want`` (a recorded file's arrays): verdicts, labels, names and rule exactly;
    scores, reconstruction scores and thresholds within ``rtol`` (``rtol_recon``, ``rtol_thresholds``)."""
    assert np.array_equal(got["labels"], want["labels"])
    assert list(got["threshold_names"]) == list(want["threshold_names"])
    assert str(got["threshold_rule"]) == str(want["threshold_rule"])
    _close("thresholds", got["threshold_values"], want["threshold_values"], rtol_thresholds or rtol)
    _close("scores", got["scores"], want["scores"], rtol)
    _close("recon", got["recon"], want["recon"], rtol_recon or rtol)
    flips = int((got["verdicts"] != want["verdicts"]).sum())
    assert flips == 0, f"{flips} verdicts differ"


def test_the_tolerance_catches_a_changed_score_and_a_changed_verdict() -> None:
    """The comparison is not vacuous: a score or threshold moved by 1e-3 relative fails it, and one
    flipped verdict fails even the retrain's looser one."""
    want = dict(np.load(HERE / "baseline_synth.npz"))
    _check(want, want)
    moved = {**want, "scores": want["scores"] * np.float32(1 + 1e-3)}
    with pytest.raises(AssertionError, match="scores"):
        _check(moved, want)
    flipped = {**want, "verdicts": want["verdicts"].copy()}
    flipped["verdicts"][0] = not flipped["verdicts"][0]
    with pytest.raises(AssertionError, match="1 verdicts differ"):
        _check(flipped, want, rtol=RETRAIN_RTOL, rtol_thresholds=RETRAIN_RTOL_THRESHOLDS)
    nudged = {**want, "threshold_values": want["threshold_values"] * (1 + 1e-3)}
    with pytest.raises(AssertionError, match="thresholds"):
        _check(nudged, want)


@pytest.fixture(scope="module")
def synth_here(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The synth baseline's data and its model trained in this process, with this machine's kernels."""
    folder = tmp_path_factory.mktemp("baseline")
    data = _synth(folder)
    model = fitted(data, PRE_ISSUE_13).save(folder / "here.pt")
    return data, model


@pytest.mark.slow
def test_shipped_default_on_synth_data_gives_the_recorded_scores(synth_here: tuple[Path, Path]) -> None:
    data, model = synth_here
    _check(scored(SpillDetector.load(model), data / "test"), np.load(HERE / "baseline_synth.npz"))


@pytest.mark.slow
@pytest.mark.realdata
def test_shipped_default_on_the_real_test_half_gives_the_recorded_scores(shared_dir: Path) -> None:
    data = shared_dir / "data" / "spills"
    _check(baseline(data, data / "test"), np.load(HERE / "baseline_real.npz"), rtol_recon=RECON_RTOL_REAL)


@pytest.mark.slow
@pytest.mark.subprocess
def test_portable_kernels_give_the_same_scores_and_verdicts(
    synth_here: tuple[Path, Path], tmp_path: Path
) -> None:
    """The comparison again in a subprocess with torch's portable kernels (ATEN_CPU_CAPABILITY=default),
    so that a result which holds only for this machine's instruction set fails on every machine:
    this machine's model scored there gives its scores to RTOL; retrained there, the recorded verdicts
    exactly and the numbers to the retrain's tolerances (see RETRAIN_RTOL)."""
    data, model = synth_here
    out = tmp_path / "portable"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "SPILLGUARD_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *filter(None, [env.get("PYTHONPATH")])])
    script = [sys.executable, str(Path(__file__)), "--out", str(out), "--model", str(model), str(data)]
    done = subprocess.run(script, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CPU capability DEFAULT" in done.stdout, done.stdout  # the portable kernels did run
    here = scored(SpillDetector.load(model), data / "test")
    _check(dict(np.load(out / "scored.npz")), here)  # the same model: the same numbers to RTOL
    _check(
        dict(np.load(out / "retrained.npz")),
        np.load(HERE / "baseline_synth.npz"),
        rtol=RETRAIN_RTOL,
        rtol_thresholds=RETRAIN_RTOL_THRESHOLDS,
    )


def _compute(which: str) -> dict[str, Any]:
    import tempfile

    if which == "synth":
        with tempfile.TemporaryDirectory() as tmp:
            data = _synth(Path(tmp))
            return baseline(data, data / "test", PRE_ISSUE_13)
    data = REPO.parent / "shared" / "data" / "spills"
    return baseline(data, data / "test")


def _main(argv: list[str]) -> None:
    import torch

    from spillguard.compute import limit_threads

    limit_threads()
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    if argv[:1] == ["--out"]:  # the portable-kernels test: results to OUT/, nothing re-recorded
        out, model, data = Path(argv[1]), Path(argv[3]), Path(argv[4])
        out.mkdir()
        np.savez(out / "scored.npz", **scored(SpillDetector.load(model), data / "test"))
        np.savez(out / "retrained.npz", **baseline(data, data / "test", PRE_ISSUE_13))
        return
    for which in argv or ["synth", "real"]:
        result = _compute(which)
        np.savez_compressed(HERE / f"baseline_{which}.npz", **result)
        print(which, {k: (v.shape, v.dtype) for k, v in result.items()})


if __name__ == "__main__":
    _main(sys.argv[1:])
