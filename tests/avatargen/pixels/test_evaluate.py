from __future__ import annotations

import numpy as np

from avatargen.pixels import metrics
from avatargen.pixels.collection import from_images
from avatargen.pixels.evaluate import evaluate_methods, target_reliability


def test_target_reliability_reports_each_seed_and_the_shares(drawn_avatars: np.ndarray) -> None:
    rows, rates = target_reliability(drawn_avatars, range(3), n_samples=3)
    assert [r["seed"] for r in rows] == [0, 1, 2]
    assert set(rates) == {*metrics.TARGETS, "all", "training_subsets_pairwise"}
    assert 0.0 <= rates["training_subsets_pairwise"] <= 1.0
    for k in metrics.TARGETS:
        # each share is the mean of the per-seed flags, and each flag agrees with the figure
        assert rates[k] == np.mean([r[f"{k}_met"] for r in rows])
        assert all(r[f"{k}_met"] == metrics.TARGETS[k].met(r[k]) for r in rows)
    assert rates["all"] <= min(rates[k] for k in metrics.TARGETS)
    # the same seeds give the same figures
    again, _ = target_reliability(drawn_avatars, range(1), n_samples=3)
    assert again[0]["pairwise_distance"] == rows[0]["pairwise_distance"]


def test_subset_pairwise_is_the_mean_over_each_subset() -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 6, 7, 4), dtype=np.uint8)
    d = metrics.distance_matrix(imgs)
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    assert np.isclose(d[1, 3], metrics.distance(imgs[1], imgs[3]))
    means = metrics.subset_pairwise(d, 4)
    assert means.shape == (5,)  # C(5, 4)
    assert np.isclose(means[0], np.mean([d[i, j] for i in range(4) for j in range(i + 1, 4)]))
    assert np.isclose(metrics.subset_pairwise(d, 5)[0], metrics.mean_pairwise_distance(imgs))
    assert metrics.subset_pairwise(d, 4, max_subsets=3).shape == (3,)


def test_evaluate_and_reliability_draw_the_same_samples(drawn_avatars: np.ndarray) -> None:
    rows, _ = evaluate_methods(from_images(list(drawn_avatars)), seed=2, n_samples=3, methods=["parts"])
    rel, _ = target_reliability(drawn_avatars, [2], n_samples=3)
    assert rows[0]["pairwise_distance"] == rel[0]["pairwise_distance"]
