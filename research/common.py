"""Shared research helpers: cached data, metrics, threshold rules (research only, not the package)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

D = Path("/tmp/spillx")
RESULTS = Path(__file__).with_name("results.jsonl")


def load(h: int = 32, w: int = 64) -> dict[str, np.ndarray]:
    """uint8 arrays (N, H, W, 3): train normals, proliv spills, test images; test labels."""
    return {
        "train": np.load(D / f"train_{h}x{w}.npy"),
        "proliv": np.load(D / f"proliv_{h}x{w}.npy"),
        "test": np.load(D / f"test_{h}x{w}.npy"),
        "y": np.load(D / "test_y.npy"),
    }


def split_train(n: int, frac_val: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n)
    k = int(n * frac_val)
    return np.sort(idx[k:]), np.sort(idx[:k])


def rates(scores: np.ndarray, y: np.ndarray, thr: float) -> tuple[float, float]:
    """(TPR, TNR) flagging score >= thr."""
    pred = scores >= thr
    return float(pred[y == 1].mean()), float((~pred[y == 0]).mean())


def oracle_tnr_at_tpr(scores: np.ndarray, y: np.ndarray, tpr: float = 0.98) -> float:
    """Best TNR of any threshold with TPR >= tpr (uses test labels: reference only, never a rule)."""
    pos = np.sort(scores[y == 1])
    k = int(np.floor((1 - tpr) * len(pos) + 1e-9))
    thr = pos[k]
    return float((scores[y == 0] < thr).mean())


def summary(
    name: str, test_scores: np.ndarray, y: np.ndarray, thresholds: dict[str, float], extra: dict | None = None
) -> dict:
    """Print and append a result line: AUC, oracle TNR@TPR.98, TPR/TNR at each label-free threshold."""
    row: dict = {
        "name": name,
        "time": time.strftime("%H:%M:%S"),
        "auc": round(float(roc_auc_score(y, test_scores)), 4),
    }
    row["oracle_tnr_at_tpr98"] = round(oracle_tnr_at_tpr(test_scores, y, 0.98), 4)
    row["oracle_tnr_at_tpr95"] = round(oracle_tnr_at_tpr(test_scores, y, 0.95), 4)
    for rule, thr in thresholds.items():
        tpr, tnr = rates(test_scores, y, thr)
        row[rule] = {"thr": round(float(thr), 5), "tpr": round(tpr, 4), "tnr": round(tnr, 4)}
    if extra:
        row.update(extra)
    print(json.dumps(row))
    with RESULTS.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def stream_threshold(test_scores: np.ndarray, val_normal_scores: np.ndarray, q: float = 0.99) -> float:
    """Label-free shift-robust rule: re-centre/re-scale validation quantile by the unlabelled stream.

    Uses only unlabelled test scores (median/IQR of the stream, as a plant would on recent images)
    and validation normals; never test labels.
    """
    vm, vi = np.median(val_normal_scores), np.subtract(*np.percentile(val_normal_scores, [75, 25]))
    sm, si = np.median(test_scores), np.subtract(*np.percentile(test_scores, [75, 25]))
    z = (np.quantile(val_normal_scores, q) - vm) / vi
    return float(sm + z * si)
