"""The experiment report's error analysis: image statistics of the lighting table."""

from __future__ import annotations

import numpy as np
import pytest

from spillguard.reporting.experiment_report import image_stats


def test_image_stats_measure_brightness_contrast_saturation() -> None:
    flat = np.full((1, 4, 4, 3), 100, np.uint8)
    grey_ramp = np.repeat(np.linspace(0, 200, 16).reshape(1, 4, 4, 1), 3, axis=3).astype(np.uint8)
    s = image_stats(np.concatenate([flat, grey_ramp]))
    assert s["brightness"][0] == pytest.approx(100)
    assert s["contrast"][0] == 0 and s["contrast"][1] > 50
    assert np.allclose(s["saturation"], 0)
