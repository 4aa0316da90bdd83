"""Pixel ROC AUC and PRO against hand-computed examples."""

import numpy as np
import pytest

from spillguard.metrics.localisation import pixel_metrics, pixel_pro, pixel_roc_auc


def _example() -> tuple[np.ndarray, np.ndarray]:
    # two regions: a 2x2 block scored above every defect-free pixel, and a 1x2 bar with one pixel
    # above them all and one below them all
    mask = np.zeros((8, 8), bool)
    mask[1:3, 1:3] = True
    mask[5, 5:7] = True
    amap = np.random.default_rng(0).uniform(0, 0.5, (8, 8))
    amap[1:3, 1:3] = 1.0
    amap[5, 5], amap[5, 6] = 1.0, -1.0
    return amap, mask


def test_pro_averages_regions_not_pixels() -> None:
    amap, mask = _example()
    # every threshold in FPR (0, 0.3]: region 1 overlap 1, region 2 overlap 1/2 -> PRO 0.75 throughout;
    # a pixel-weighted overlap would say 5/6
    assert pixel_pro([amap], [mask]) == pytest.approx(0.75, abs=2e-3)
    perfect = amap.copy()
    perfect[mask] = 2.0
    assert pixel_pro([perfect], [mask]) == pytest.approx(1.0, abs=2e-3)
    assert pixel_pro([-perfect], [mask]) == pytest.approx(0.0, abs=1e-9)


def test_pro_of_a_region_that_rises_with_the_false_positive_rate() -> None:
    # one region of 1 pixel scored between the 80th and 81st of 100 defect-free pixels: missed at
    # FPR 0.19, caught from FPR 0.20; the curve joins the two points linearly (as anomalib's
    # trapezoid does) -> area (0.005 + 0.1) / 0.3 = 0.35
    amap = np.arange(101, dtype=float).reshape(1, 101)
    mask = np.zeros((1, 101), bool)
    mask[0, 100] = True
    amap[0, 100] = 79.5
    assert pixel_pro([amap], [mask]) == pytest.approx(0.35, abs=1e-6)


def test_pixel_roc_auc_and_counts() -> None:
    amap, mask = _example()
    # 6 defect pixels, 58 clean: 5 above all clean, 1 below all -> AUC 5/6
    assert pixel_roc_auc([amap], [mask]) == pytest.approx(5 / 6)
    m = pixel_metrics([amap, np.zeros((4, 4))], [mask, np.zeros((4, 4), bool)])
    assert m["n_regions"] == 2 and m["n_images"] == 2
    assert m["defect_pixel_share"] == pytest.approx(6 / 80)
    with pytest.raises(ValueError, match="mask"):
        pixel_roc_auc([amap], [mask[:4]])
