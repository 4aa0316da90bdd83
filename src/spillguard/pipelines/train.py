"""Train a detector into a run folder: everything needed to reproduce it and to score new images
(checkpoint, metrics.json, validation score CSV, plots, example grid, report.html). The folder is
built under a temporary name and renamed when complete; the result object holds what was computed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import atomic_dir
from sharedcore.console import info
from sharedcore.errors import UserError
from spillguard import __version__
from spillguard.config import TrainConfig
from spillguard.data import Skip, load_sources, report_skips, training_sources
from spillguard.detector import SpillDetector
from spillguard.metrics.detection import evaluate_scores, recon_metrics
from spillguard.metrics.robustness import robustness_aucs
from spillguard.reporting.plots import draw_examples, plot_history, plot_scores
from spillguard.reporting.run_report import VAL_TITLE, render_run_report, write_scores
from spillguard.reporting.tracking import Tracker


@dataclass
class TrainResult:
    """A trained run: its folder, the fitted detector, and ``metrics`` (what metrics.json holds)."""

    run: Path
    detector: SpillDetector
    metrics: dict[str, Any]

    @property
    def validation(self) -> dict[str, Any]:
        """Validation metrics: check halves, robustness suite, auxiliary reconstruction AUC."""
        return self.metrics["validation"]


def skips_json(skipped: list[Skip]) -> list[list[str]]:
    """Skips as JSON-ready [path, reason] pairs."""
    return [[str(p), why] for p, why in skipped]


def validate(det: SpillDetector, normals: np.ndarray, spills: np.ndarray, seed: int) -> dict[str, Any]:
    """Validation metrics of a fitted detector on what its fit held out (never on test data).

    Rates and AUCs on the check halves at every threshold; the robustness suite (known spills and
    pasted spill looks, plain and shifted) on all validation normals; for a head with a fitted
    decoder, the auxiliary ROC AUC of its reconstruction error.
    """
    h = det.holdout_
    labels = np.r_[np.zeros(len(h.val_check)), np.ones(len(h.spill_check))]
    scores = np.r_[h.val_scores[h.val_check], h.spill_scores[h.spill_check]]
    out = evaluate_scores(labels, scores, det.thresholds_, seed)
    out["robustness"] = robustness_aucs(det, normals[h.val], spills, seed)
    if det.decoder_fitted_ and len(spills) and len(h.spill_check):
        recon = np.r_[det.recon_score(normals[h.val][h.val_check]), det.recon_score(spills[h.spill_check])]
        out["recon"] = recon_metrics(labels, recon, seed)
    return out


def train_run(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig,
    strict: bool = False,
    force: bool = False,
    wandb: bool = False,
    shown_as: str | None = None,
) -> TrainResult:
    """Load ``data``, train, validate and write the run folder ``out``.

    ``shown_as``: how reports name ``data`` (default: the path given), e.g. its final location when
    ``data`` itself lies in a folder still being built.
    """
    cfg = config.validate()
    t0 = time.perf_counter()
    sources = training_sources(data)
    ds = load_sources(sources, (cfg.height, cfg.width), strict, what=str(data))
    report_skips(ds.skipped)
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    if len(normals) == 0:
        raise UserError(f"{data}: no normal images found; training needs normal (spill-free) images")
    info(f"loaded {len(normals)} normal and {len(spills)} spill images in {time.perf_counter() - t0:.1f} s")
    with atomic_dir(out, force=force) as tmp:
        (tmp / "plots").mkdir()
        tracker = Tracker(tmp, wandb, name=Path(out).name, config=cfg.to_dict())
        det = SpillDetector(cfg).fit(normals, spills, on_epoch=tracker.log)
        det.save(tmp / "checkpoint.pt")
        validation = validate(det, normals, spills, cfg.seed)
        h = det.holdout_
        labels = np.r_[np.zeros(len(h.val_scores), int), np.ones(len(h.spill_scores), int)]
        scores = np.r_[h.val_scores, h.spill_scores]
        write_scores(
            tmp / "scores_validation.csv",
            ["validation"] * len(h.val_scores) + ["known spill"] * len(h.spill_scores),
            labels,
            scores,
        )
        metrics = {
            "spillguard_version": __version__,
            "config": cfg.to_dict(),
            "data": {
                "root": shown_as or str(data),
                "layout": sources.layout,
                "n_normal": len(normals),
                "n_spill": len(spills),
                "skipped": skips_json(ds.skipped),
            },
            "sizes": h.sizes(),
            "train_seconds": det.train_seconds_,
            "history": det.history_,
            "decoder_history": det.decoder_history_,
            "thresholds": det.thresholds_,
            "threshold_rule": det.threshold_rule_,
            "validation": validation,
        }
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        draw_examples(
            det,
            np.concatenate([normals[h.val], spills]),
            labels,
            scores,
            tmp / "plots" / "recon_grid.png",
            "Validation normals and known spills",
        )
        figs = plot_history(det.history_, tmp / "plots")
        figs += plot_scores(labels, scores, det.thresholds_, tmp / "plots", "val", VAL_TITLE)
        render_run_report(metrics, tmp)
        tracker.finish(
            {"val_roc_auc": validation["roc_auc"], "train_seconds": det.train_seconds_},
            {f.stem: f for f in figs},
        )
    info(
        f"trained in {det.train_seconds_:.1f} s ({len(det.history_)} epochs); validation ROC AUC {validation['roc_auc']:.4f}"
    )
    return TrainResult(Path(out), det, metrics)
