"""Figures (PNG) and the HTML report of a run folder.

Plots are rebuilt from the run's ``metrics.json`` and score CSVs, so ``spillguard report RUN`` needs
no model; the input / reconstruction / error-map grids are drawn when the model is at hand.
"""

from __future__ import annotations

import csv
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import pyplot as plt
from sklearn.metrics import roc_curve

from sharedcore import figures  # noqa: F401  (sets the headless backend)
from sharedcore.figures import save_figure
from sharedcore.report import HtmlReport

RULE_TEXT = {
    "fpr": "fpr: (1 - target) quantile of held-out validation normals",
    "balanced": "balanced: TPR = TNR on held-out validation normals and held-out known spills",
    "prior": "prior: the spill head's own boundary, p(spill) = 0.5 (score ln 2); no data used",
}


def read_scores(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores from a ``scores_*.csv`` (columns include label, score)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([int(r["label"]) for r in rows]), np.array([float(r["score"]) for r in rows])


def plot_history(history: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Train/validation loss and validation AUC per epoch."""
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ep, [h["train_loss"] for h in history], label="train")
    ax.plot(ep, [h["val_loss"] for h in history], label="validation")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="Reconstruction loss")
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
    out = []
    colours = {"fpr": "tab:red", "balanced": "tab:purple"}
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
    bins = np.geomspace(max(scores.min(), 1e-6), scores.max() * 1.01, 50)
    for y, name, c in ((0, "normal", "tab:green"), (1, "spill", "tab:orange")):
        if np.any(labels == y):
            ax.hist(
                scores[labels == y],
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


def _ci(m: dict[str, Any], key: str) -> str:
    v, ci = m.get(key), m.get(f"{key}_ci")
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{v:.3f}"


def metrics_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per threshold rule: rates with 95% CIs and the confusion matrix."""
    rows = []
    for rule, t in m["at_threshold"].items():
        c = t["confusion"]
        rows.append(
            {
                "rule": rule,
                "threshold": t["threshold"],
                "TPR": _ci(t, "tpr"),
                "TNR": _ci(t, "tnr"),
                "FPR": _ci(t, "fpr"),
                "precision": _ci(t, "precision"),
                "F1": _ci(t, "f1"),
                "TP/FN/TN/FP": f"{c['tp']}/{c['fn']}/{c['tn']}/{c['fp']}",
            }
        )
    return rows


def _section(rep: HtmlReport, name: str, m: dict[str, Any], figs: list[Path], base: Path) -> None:
    rep.heading(name)
    rep.paragraph(
        f"{m['n']} images ({m['n_normal']} normal, {m['n_spill']} spill). ROC AUC {_ci(m, 'roc_auc')}, "
        f"PR AUC {_ci(m, 'pr_auc')} (95% bootstrap CIs; rates with Wilson 95% CIs)."
    )
    if "robustness" in m:
        rob = m["robustness"]
        rep.paragraph(
            "Robustness without test labels (ROC AUC of held-out normals against known spills and procedural "
            "spill looks, plain and under simulated camera/lighting shift; spillguard.robustness): "
            + ", ".join(f"{k} {v:.3f}" for k, v in rob.items())
        )
    if "recon" in m:
        rep.paragraph(
            f"Auxiliary: the reconstruction error ({m['recon']['score']}) of the decoder fitted with the "
            f"encoder frozen ranks these images at ROC AUC {_ci(m['recon'], 'roc_auc')}, PR AUC "
            f"{_ci(m['recon'], 'pr_auc')}; verdicts and the metrics above use the spill head."
        )
    extra = {k: v for k, v in m.items() if k.startswith("tnr_at_tpr")}
    if extra:
        rep.paragraph(
            "Best possible TNR at a given TPR (threshold chosen with labels, for comparison only): "
            + ", ".join(f"{k.replace('tnr_at_tpr_', 'TPR ')}: {v:.3f}" for k, v in extra.items())
        )
    rep.table(metrics_rows(m))
    for f in figs:
        if f.is_file():
            rep.image(os.path.relpath(f, base), caption=f.stem.replace("_", " "))


def gate_html(gate: dict[str, Any]) -> str:
    """The validation gate as a coloured box: passed (green) or the warnings and what to do (red)."""
    if gate["passed"]:
        body = (
            f"<b>Validation gate passed</b>: held-out known anomalies vs validation normals ROC AUC "
            f"{_ci(gate, 'known_auc')} ({gate['n_known_check']} held out), held-out synthetic anomalies "
            f"{_ci(gate, 'synthetic_auc')}; both at least {gate['min_auc']}."
        )
        style = "border:2px solid #2a7;background:#effaf3"
    else:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in gate["warnings"])
        body = (
            f"<b>WARNING: validation gate failed</b> (needs at least {gate['min_auc']} ROC AUC on held-out "
            f"known and synthetic anomalies):<ul>{items}</ul>{html.escape(gate['advice'])}. Known: "
            f"{_ci(gate, 'known_auc')} ({gate['n_known_check']} held out); synthetic: {_ci(gate, 'synthetic_auc')}."
        )
        style = "border:2px solid #c33;background:#fdf0f0"
    return f'<div class="gate" style="{style};padding:.6em 1em;margin:1em 0">{body}</div>'


def write_report(run: Path, out: Path | None = None) -> Path:
    """Re-plot from the run's files and write ``report.html`` (into ``out`` if given, else ``run``)."""
    out = out or run / "report.html"
    base = out.parent
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    plots = run / "plots"
    plot_history(m["history"], plots)
    if (run / "scores_validation.csv").is_file():
        y, s = read_scores(run / "scores_validation.csv")
        plot_scores(y, s, m["thresholds"], plots, "val", "validation normals vs known spills")
    cfg = m["config"]
    rep = HtmlReport("spillguard: spill detector run")
    if m.get("gate"):  # first thing on the page (spillguard.newline.gate)
        rep.raw(gate_html(m["gate"]))
    for key in ("input_size", "greyscale", "anomalies", "schedule"):
        if key in m.get("choices", {}):
            rep.paragraph("Chosen from the data: " + m["choices"][key]["how"] + ".", css_class="note")
    rep.paragraph(
        f"Model {cfg['model']} {cfg['model_params'] or ''}, loss {cfg['loss']}, score {cfg['score']} "
        f"(smooth {cfg['smooth']}), input {cfg['height']}x{cfg['width']} {cfg['colour']}, illumination "
        f"{cfg['illumination']}, augmentation {cfg['augment']}, seed {cfg['seed']}. Trained on "
        f"{m['sizes']['train']} normal images from {m['data']['root']} ({m['data']['layout']} layout) in "
        f"{m['train_seconds']:.1f} s, {len(m['history'])} epochs (early stopping patience {cfg['patience']})."
    )
    rep.paragraph(
        "Threshold rules (chosen without test labels): "
        + "; ".join(RULE_TEXT[r] for r in m["thresholds"])
        + f". Verdicts use '{m['threshold_rule']}'; target false-alarm rate {cfg['target_fpr']}."
    )
    if m["data"].get("skipped"):
        rep.paragraph(
            f"{len(m['data']['skipped'])} input files skipped: "
            + "; ".join(f"{p} ({why})" for p, why in m["data"]["skipped"][:20]),
            css_class="note",
        )
    if m.get("decoder_history"):
        d = m["decoder_history"]
        rep.paragraph(
            f"After the head, the decoder was fitted with the encoder frozen ({len(d)} epochs, validation "
            f"MSE {d[0]['val_mse']:.3f} -> {min(r['val_mse'] for r in d):.3f}, standardised units), so the "
            "reconstructions and error maps below are real; the head's scores are unchanged by it."
        )
    rep.heading("Training")
    for f in ("loss.png", "val_metrics.png"):
        if (plots / f).is_file():
            rep.image(os.path.relpath(plots / f, base), caption=f[:-4].replace("_", " "))
    _section(
        rep,
        "Validation (held-out check halves; thresholds from the calibration halves)",
        m["validation"],
        [plots / "val_roc.png", plots / "val_hist.png", plots / "recon_grid.png"],
        base,
    )
    for ev_file in sorted(run.glob("evaluation*/test_metrics.json")):
        ev = json.loads(ev_file.read_text(encoding="utf-8"))
        folder = ev_file.parent
        y, s = read_scores(folder / "scores_test.csv")
        plot_scores(y, s, ev["thresholds"], folder, "test", f"test ({ev['data']['root']})")
        _section(
            rep,
            f"Test: {ev['data']['root']}",
            ev["metrics"],
            [folder / "test_roc.png", folder / "test_hist.png", folder / "test_grid.png"],
            base,
        )
        fpr_rule = ev["metrics"]["at_threshold"].get("fpr")
        if fpr_rule:
            rep.paragraph(
                f"Shift check: the fpr rule aimed at a {cfg['target_fpr']:.0%} false-alarm rate on validation "
                f"normals and flags {fpr_rule['fpr']:.1%} of these test normals. A rate far above the target "
                "means the test normals differ from the training normals (lighting, framing)."
            )
    return rep.write(out)
