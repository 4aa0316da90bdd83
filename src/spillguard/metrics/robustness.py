"""A validation suite that needs no test labels: held-out normals against known spills and against
procedural looks pasted onto held-out normals (pit "speckled", "flooded"; "generic": the looks of
``spillguard.data.anomaly_looks``), each plain and under
simulated camera/lighting shift. Its mean AUC is how settings were chosen (docs/results.md)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.metrics import roc_auc_score

from spillguard.data.anomaly_looks import GENERIC_MIX, make_anomalies
from spillguard.data.camera_shift import perturb
from spillguard.data.spill_looks import paste_spills


class Scorer(Protocol):
    def score_samples(self, images: np.ndarray) -> np.ndarray: ...


def robustness_aucs(
    det: Scorer, normals: np.ndarray, spills: np.ndarray | None, seed: int = 0, grey: bool = False
) -> dict[str, float]:
    """ROC AUCs of ``normals`` (N, H, W, 3) uint8 against each spill set, plain and shifted, and their mean.

    ``grey``: greyscale data; the procedural looks are made greyscale too.
    """
    rng = np.random.default_rng(seed)
    half = len(normals) // 2
    generic = make_anomalies(
        normals.astype(np.float32) / 255, np.random.default_rng(seed + 5), GENERIC_MIX, grey
    )
    sets = {
        "speckled": paste_spills(normals[:half], rng, "speckled"),
        "flooded": paste_spills(normals[half:], rng, "flooded"),
        "generic": (generic * 255 + 0.5).astype(np.uint8),
    }
    if grey:
        sets = {
            k: np.repeat(v.mean(axis=3, keepdims=True).astype(np.uint8), 3, axis=3) for k, v in sets.items()
        }
    if spills is not None and len(spills):
        sets = {"known": spills, **sets}
    s_norm = det.score_samples(normals)
    s_norm_shift = det.score_samples(perturb(normals, np.random.default_rng(seed + 1)))
    out: dict[str, float] = {}
    for name, imgs in sets.items():
        y = np.r_[np.zeros(len(normals)), np.ones(len(imgs))]
        out[name] = float(roc_auc_score(y, np.r_[s_norm, det.score_samples(imgs)]))
        shifted = det.score_samples(perturb(imgs, np.random.default_rng(seed + 2)))
        out[f"{name}_shifted"] = float(roc_auc_score(y, np.r_[s_norm_shift, shifted]))
    out["mean"] = float(np.mean(list(out.values())))
    return out
