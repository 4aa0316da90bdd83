"""The experiment's figures and HTML report: overlaid test ROC curves, and an error analysis of
chosen variants (lighting of false alarms, every misclassified image, a PCA of latent codes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import pyplot as plt
from sklearn.decomposition import PCA
from sklearn.metrics import roc_curve

from sharedcore import figures  # noqa: F401  (sets the headless backend)
from sharedcore.figures import save_figure
from spillguard.data.preprocess import to_unit
from spillguard.detector import SpillDetector
from spillguard.models.capabilities import MemoryModel, Reconstructor
from spillguard.reporting.plots import plot_grid

MAX_GRID = 60  # misclassified images drawn per class (all are counted and measured)


def plot_rocs(
    curves: Sequence[tuple[str, np.ndarray, float]], labels: np.ndarray, folder: Path
) -> list[Path]:
    """Overlaid test ROC curves of (name, scores, ROC AUC) triples, full range and zoomed to FPR <= 0.1."""
    out = []
    for name, xmax in (("roc", 1.0), ("roc_zoom", 0.1)):
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        for name_, scores, auc in curves:
            fpr, tpr, _ = roc_curve(labels, scores)
            ax.plot(fpr, tpr, lw=1.3, label=f"{name_} ({auc:.4f})")
        ax.axhline(0.98, color="grey", ls=":", lw=0.8)
        ax.axvline(0.01, color="grey", ls=":", lw=0.8)
        ax.set(xlim=(0, xmax), ylim=(0.5 if xmax < 1 else 0, 1.005), xlabel="false-alarm rate (1 - TNR)")
        ax.set(ylabel="TPR", title="Test ROC" + (" (zoom)" if xmax < 1 else ""))
        ax.legend(fontsize=7, loc="lower right")
        out.append(save_figure(fig, folder / f"{name}.png"))
    return out


def image_stats(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image brightness (mean grey, 0-255), contrast (grey std) and saturation (mean HSV S, 0-1)."""
    x = images.astype(np.float32)
    grey = x.mean(axis=3)
    mx, mn = x.max(axis=3), x.min(axis=3)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
    return {
        "brightness": grey.mean(axis=(1, 2)),
        "contrast": grey.std(axis=(1, 2)),
        "saturation": sat.mean(axis=(1, 2)),
    }


def lighting_analysis(
    images: np.ndarray, labels: np.ndarray, flagged: np.ndarray, folder: Path, tag: str
) -> tuple[list[dict[str, Any]], Path]:
    """Brightness/contrast/saturation of false alarms against correctly passed normals (and misses
    against caught spills): a table of medians and quartiles, and histograms."""
    st = image_stats(images)
    groups = {
        "correct normals": (labels == 0) & ~flagged,
        "false alarms": (labels == 0) & flagged,
        "caught spills": (labels == 1) & flagged,
        "missed spills": (labels == 1) & ~flagged,
    }
    rows = []
    for g, sel in groups.items():
        row: dict[str, Any] = {"group": g, "n": int(sel.sum())}
        for k, v in st.items():
            q = np.percentile(v[sel], [25, 50, 75]) if sel.any() else [np.nan] * 3
            row[k] = f"{q[1]:.3g} [{q[0]:.3g}, {q[2]:.3g}]"
        rows.append(row)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.1))
    for ax, (k, v) in zip(axes, st.items(), strict=True):
        bins = np.linspace(v.min(), v.max(), 30)
        for g in ("correct normals", "false alarms"):
            if groups[g].any():
                ax.hist(v[groups[g]], bins=bins, density=True, alpha=0.55, label=f"{g} ({groups[g].sum()})")
        ax.set(xlabel=k, ylabel="density")
        ax.legend(fontsize=7)
    fig.suptitle(f"{tag}: lighting of false alarms vs correctly passed normals (test)", fontsize=9)
    return rows, save_figure(fig, folder / f"lighting_{tag}.png")


def misclassified_grids(
    det: SpillDetector, images: np.ndarray, labels: np.ndarray, scores: np.ndarray, folder: Path, tag: str
) -> list[Path]:
    """Input / reconstruction / error map of every misclassified image (up to MAX_GRID per kind)."""
    flagged = scores > det.threshold()
    out = []
    for kind, sel in (("false_alarms", (labels == 0) & flagged), ("missed_spills", (labels == 1) & ~flagged)):
        idx = np.flatnonzero(sel)
        idx = idx[np.argsort(-scores[idx] if kind == "false_alarms" else scores[idx])][:MAX_GRID]
        for part in range(0, len(idx), 12):
            chunk = idx[part : part + 12]
            x, r, e = det.explain(images[chunk])
            caps = [f"#{i} {scores[i]:.3g}" for i in chunk]
            title = f"{tag}: {kind.replace('_', ' ')} {part + 1}-{part + len(chunk)} of {sel.sum()} (#row of scores_test.csv, score)"
            out.append(plot_grid(x, r, e, caps, folder / f"{kind}_{tag}_{part // 12}.png", title))
    return out


@torch.inference_mode()
def latent_projection(
    det: SpillDetector, images: np.ndarray, labels: np.ndarray, folder: Path, tag: str
) -> Path:
    """2-D PCA of the latent codes (flattened per image), normal vs spill; for a memory AE also the
    latent cells coloured by their nearest memory item (the learned clusters)."""
    model = det.model_
    if not isinstance(model, Reconstructor):
        raise TypeError(f"{type(model).__name__} is not a Reconstructor")
    xs = det.prep_(to_unit(images))
    z = torch.cat([model.encode(xs[i : i + 1024]) for i in range(0, len(xs), 1024)])
    codes = z.flatten(1).numpy()
    p = PCA(2, random_state=0).fit_transform(codes)
    memory = isinstance(model, MemoryModel)
    fig, axes = plt.subplots(1, 2 if memory else 1, figsize=(10 if memory else 5.2, 4.2), squeeze=False)
    ax = axes[0, 0]
    for y, name, c in ((0, "normal", "tab:blue"), (1, "spill", "tab:red")):
        sel = labels == y
        ax.scatter(
            p[sel, 0],
            p[sel, 1],
            s=5 if y == 0 else 14,
            c=c,
            alpha=0.5 if y == 0 else 0.9,
            label=f"{name} ({sel.sum()})",
        )
    ax.set(title=f"{tag}: latent codes, PCA", xlabel="PC 1", ylabel="PC 2")
    ax.legend(fontsize=8)
    if isinstance(model, MemoryModel):
        cells = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]).numpy()
        near = model.assign(xs).reshape(-1).numpy()
        mem = torch.nn.functional.normalize(model.memory, dim=1).numpy()
        pca = PCA(2, random_state=0).fit(cells)
        pc, pm = pca.transform(cells), pca.transform(mem)
        sub = np.random.default_rng(0).choice(len(pc), min(len(pc), 20000), replace=False)
        ax2 = axes[0, 1]
        ax2.scatter(pc[sub, 0], pc[sub, 1], c=near[sub], cmap="tab10", s=2, alpha=0.4)
        ax2.scatter(pm[:, 0], pm[:, 1], c=np.arange(len(pm)), cmap="tab10", s=90, marker="*", edgecolors="k")
        ax2.set(title="latent cells by nearest memory item (stars: items)", xlabel="PC 1", ylabel="PC 2")
    return save_figure(fig, folder / f"latent_{tag}.png")
