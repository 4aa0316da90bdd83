"""Anomaly scores of error maps: mse, local."""

from __future__ import annotations

import torch

from spillguard.post_processing.scores import score_local, score_mse


def test_local_score_finds_a_small_blob_the_mean_dilutes() -> None:
    diffuse = torch.full((1, 32, 48), 0.1)
    blob = torch.zeros(1, 32, 48)
    blob[0, 10:15, 20:25] = 5.0  # same total error as... much less than diffuse, but concentrated
    assert score_mse(blob).item() < score_mse(diffuse).item()
    assert score_local(blob, 5).item() > score_local(diffuse, 5).item()
    assert score_local(blob, 5).item() == 5.0
