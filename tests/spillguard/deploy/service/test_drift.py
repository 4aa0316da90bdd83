"""Drift checks: image statistics, the run's reference, and when the panel warns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spillguard.deploy.service.drift import (
    DriftReference,
    HourShare,
    drift_report,
    image_stats,
    load_reference,
)


def test_image_stats_brightness_and_saturation() -> None:
    imgs = np.zeros((3, 4, 5, 3), np.uint8)
    imgs[1] = 255
    imgs[2, ..., 0] = 200  # pure red: saturation 1
    b, s = image_stats(imgs)
    assert np.allclose(b, [0.0, 1.0, 0.299 * 200 / 255], atol=1e-5)
    assert np.allclose(s, [0.0, 0.0, 1.0])


def _ref(rng: np.random.Generator) -> DriftReference:
    return DriftReference(
        np.sort(rng.normal(1, 0.2, 500)), rng.normal(0.5, 0.05, 500), rng.normal(0.2, 0.02, 500), 0.01
    )


def test_no_warning_when_the_line_looks_like_validation() -> None:
    rng = np.random.default_rng(0)
    ref = _ref(rng)
    rep = drift_report(ref, rng.normal(1, 0.2, 400), rng.normal(0.5, 0.05, 400), rng.normal(0.2, 0.02, 400),
                       np.zeros(400, bool), [HourShare("10:00", 400, 3)])  # fmt: skip
    assert rep.warnings == [] and abs(sum(rep.decile_shares) - 1) < 1e-9
    assert max(rep.decile_shares) < 0.16 and abs(rep.brightness_shift or 9) < 0.3


def test_brighter_camera_scores_up_and_many_flags_warn() -> None:
    rng = np.random.default_rng(1)
    ref = _ref(rng)
    flagged = np.r_[np.ones(40, bool), np.zeros(360, bool)]
    hours = [HourShare("09:00", 200, 1), HourShare("10:00", 200, 39)]
    rep = drift_report(
        ref, rng.normal(1.6, 0.2, 400), rng.normal(0.6, 0.05, 400), rng.normal(0.2, 0.02, 400), flagged, hours
    )
    text = " | ".join(rep.warnings)
    assert "score distribution has moved" in text and "brightness is 2.0 SD above" in text
    assert (
        "10.0% of the last 400 images flagged" in text and "hour 10:00" in text and "hour 09:00" not in text
    )
    assert "saturation" not in text
    assert rep.decile_shares[-1] > 0.8


def test_too_few_recent_images_give_figures_but_no_verdict() -> None:
    rng = np.random.default_rng(2)
    rep = drift_report(
        _ref(rng), rng.normal(3, 0.2, 10), np.full(10, 0.9), np.full(10, 0.5), np.ones(10, bool), []
    )
    assert rep.warnings == [] and rep.n_recent == 10


def test_reference_of_a_run_and_the_fallback_for_older_runs(tiny_run: Path, tmp_path: Path) -> None:
    data = json.loads((tiny_run / "drift_reference.json").read_text())
    assert data["format_version"] == 1 and len(data["scores"]) == len(data["brightness"]) > 10
    ref = load_reference(tiny_run, threshold=float(np.median(data["scores"])))
    assert ref.brightness is not None and 0.45 < ref.expected_rate < 0.55
    old = tmp_path / "old"
    old.mkdir()
    (old / "scores_validation.csv").write_text(
        "path,label,score\nvalidation,0,0.5\nvalidation,0,0.7\nknown spill,1,3\n"
    )
    ref = load_reference(old, threshold=0.6)
    assert ref.brightness is None and list(ref.scores) == [0.5, 0.7] and ref.expected_rate == 0.5
