"""Figures (PNG) of a run: loss and validation metrics per epoch, ROC with each threshold's
operating point, score histograms, and input / reconstruction / error-map grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
from matplotlib import pyplot as plt
from sklearn.metrics import roc_curve

from sharedcore import figures  # noqa: F401  (sets the headless backend)
from sharedcore.figures import save_figure


class Explainer(Protocol):
    """What an example grid needs from a detector."""

    def explain(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def threshold(self, rule: str | None = None) -> float: ...


def plot_history(history: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Train/validation loss and validation AUC per epoch."""
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ep, [h["train_loss"] for h in history], label="train")
    ax.plot(ep, [h["val_loss"] for h in history], label="validation")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="Training loss")
    ax.legend()
    out = [save_figure(fig, folder / "loss.png")]
    if any("val_auc" in h for h in history):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(
            ep,
            [h.get("val_auc", np.nan) for h in history],
            marker="o",
            label="ROC AUC (val normals vs known spills)",
        )
        ax2 = ax.twinx()
        ax2.plot(ep, [h["lr"] for h in history], color="grey", ls="--", label="learning rate")
        ax2.set_ylabel("learning rate")
        ax.set(xlabel="epoch", ylabel="ROC AUC", title="Validation metrics per epoch")
        ax.legend(loc="lower right", fontsize=8)
        out.append(save_figure(fig, folder / "val_metrics.png"))
    return out


def plot_scores(
    labels: np.ndarray,
    scores: np.ndarray,
    thresholds: dict[str, float],
    folder: Path,
    prefix: str,
    title: str,
) -> list[Path]:
    """ROC curve with each threshold's operating point, and score histograms of both classes."""
    out: list[Path] = []
    colours = {
        "fpr": "tab:red",
        "balanced": "tab:purple",
        "prior": "tab:blue",
        "fpr_bound": "tab:orange",
        "stream": "tab:brown",
    }
    if not len(scores):
        return out
    if labels.min() != labels.max():
        fpr, tpr, _ = roc_curve(labels, scores)
        fig, ax = plt.subplots(figsize=(4.2, 4))
        ax.plot(fpr, tpr, label="ROC")
        for rule, t in thresholds.items():
            f = labels == 0
            ax.plot(
                np.mean(scores[f] > t),
                np.mean(scores[~f] > t),
                "o",
                color=colours.get(rule),
                label=f"{rule} threshold",
            )
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set(xlabel="false-alarm rate (FPR)", ylabel="TPR", title=f"ROC: {title}")
        ax.legend(fontsize=8)
        out.append(save_figure(fig, folder / f"{prefix}_roc.png"))
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    lo = max(float(scores.min()), 1e-6)  # log bins: scores of 0 (e.g. a saturated head) sit in the first
    bins = np.geomspace(lo, max(float(scores.max()) * 1.01, lo * 10), 50)
    for y, name, c in ((0, "normal", "tab:green"), (1, "spill", "tab:orange")):
        if np.any(labels == y):
            ax.hist(
                np.maximum(scores[labels == y], lo),  # scores below the first bin are counted in it
                bins=list(bins),
                alpha=0.6,
                density=True,
                color=c,
                label=f"{name} (n={np.sum(labels == y)})",
            )
    for rule, t in thresholds.items():
        ax.axvline(t, color=colours.get(rule), ls="--", label=f"{rule} threshold")
    ax.set(xscale="log", xlabel="anomaly score", ylabel="density", title=f"Scores: {title}")
    ax.legend(fontsize=8)
    out.append(save_figure(fig, folder / f"{prefix}_hist.png"))
    return out


def plot_grid(
    inputs: np.ndarray, recons: np.ndarray, errors: np.ndarray, captions: list[str], path: Path, title: str
) -> Path:
    """Columns of examples; rows: input, reconstruction, error map (shared colour scale)."""
    n = len(inputs)
    fig, axes = plt.subplots(3, n, figsize=(1.25 * n + 0.8, 3.4), squeeze=False)
    vmax = float(np.percentile(errors, 99.5)) if n else 1.0
    for j in range(n):
        axes[0, j].imshow(inputs[j])
        axes[1, j].imshow(recons[j])
        axes[2, j].imshow(errors[j], cmap="inferno", vmin=0, vmax=vmax)
        axes[0, j].set_title(captions[j], fontsize=6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i, name in enumerate(("input", "reconstruction", "error map")):
        axes[i, 0].set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def _pick(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Indices of up to k examples per class, spread over the score range (lowest to highest)."""
    out = []
    for y in (0, 1):
        idx = np.flatnonzero(labels == y)
        if len(idx):
            order = idx[np.argsort(scores[idx])]
            out.append(
                order[np.unique(np.linspace(0, len(order) - 1, min(k, len(order))).round().astype(int))]
            )
    return np.concatenate(out) if out else np.zeros(0, int)


def draw_examples(
    det: Explainer, images: np.ndarray, labels: np.ndarray, scores: np.ndarray, path: Path, title: str
) -> Path:
    """Grid of input / reconstruction / error map for normal and spill examples across the score range."""
    idx = _pick(scores, labels, 6)
    x, r, e = det.explain(images[idx])
    t = det.threshold()
    caps = [
        f"{'spill' if labels[i] else 'normal'} {scores[i]:.3g}{' !' if (scores[i] > t) != bool(labels[i]) else ''}"
        for i in idx
    ]
    return plot_grid(x, r, e, caps, path, title + " (score; '!' = misclassified)")
