"""Train a detector into a run folder: everything needed to reproduce it and to score new images
(checkpoint, metrics.json, validation score CSV, plots, example grid, report.html). The folder is
built under a temporary name and renamed when complete; the result object holds what was computed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import atomic_dir, check_output
from sharedcore.console import info
from sharedcore.errors import UserError
from sharedcore.validate import check_float
from spillguard import __version__
from spillguard.config import TrainConfig
from spillguard.data import Skip, input_folders, load_sources, report_skips, training_sources
from spillguard.deploy.service.drift import write_drift_reference
from spillguard.detector import SpillDetector
from spillguard.metrics.detection import evaluate_scores, recon_metrics
from spillguard.metrics.gate import gate_lines, requirement_failure, synthetic_check, validation_gate
from spillguard.metrics.robustness import robustness_aucs
from spillguard.post_processing.false_alarms import describe as describe_promise
from spillguard.reporting.plots import draw_examples, plot_history, plot_scores
from spillguard.reporting.run_report import VAL_TITLE, render_run_report, write_scores
from spillguard.reporting.tracking import Tracker
from spillguard.training.input_size import choose_input_size, image_sizes


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
    pasted spill looks, plain and shifted) on all validation normals; held-out synthetic anomalies
    of the run's own looks on the check normals (for the gate); for a head with a fitted decoder,
    the auxiliary ROC AUC of its reconstruction error.
    """
    h, cfg = det.holdout_, det.config
    labels = np.r_[np.zeros(len(h.val_check)), np.ones(len(h.spill_check))]
    scores = np.r_[h.val_scores[h.val_check], h.spill_scores[h.spill_check]]
    out = evaluate_scores(labels, scores, det.thresholds_, seed)
    grey = bool(cfg.greyscale)
    out["robustness"] = robustness_aucs(det, normals[h.val], spills, seed, grey)
    out["synthetic"] = synthetic_check(det, normals[h.val][h.val_check], seed, grey, cfg.anomalies)
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
    require_auc: float | None = None,
) -> TrainResult:
    """Load ``data``, train, validate and write the run folder ``out``.

    Input size, greyscale handling, anomaly looks, epochs, batch size and the verdict rule the config
    leaves open are chosen from the data and recorded (metrics.json ``choices``). ``require_auc``: raise UserError
    (exit code 2) after writing the run when its validation gate AUC is below this value or cannot
    be measured (``spillguard.metrics.gate``).

    ``shown_as``: how reports name ``data`` (default: the path given), e.g. its final location when
    ``data`` itself lies in a folder still being built.
    """
    cfg = config.validate()
    if require_auc is not None:  # an AUC: refused before any work, not after the whole training
        check_float(require_auc, "--require-auc", 0.0, 1.0, fix="an ROC AUC, e.g. --require-auc 0.9")
    check_output(out, force, kind="dir", inputs=[data])  # before loading and training
    t0 = time.perf_counter()
    sources = training_sources(data)
    check_output(out, force, kind="dir", inputs=input_folders(sources))  # e.g. -o DATA/train --force
    size_choice = None
    if cfg.height is None or cfg.width is None:  # chosen from the data (spillguard.training.input_size)
        normal_paths = [p for p, y in zip(sources.paths, sources.labels, strict=True) if y == 0]
        sizes = image_sizes(normal_paths or sources.paths, seed=cfg.seed)
        if not sizes:
            raise UserError(
                f"{data}: no readable images found among the normal ones; point to a folder of JPEG/PNG files"
            )
        size_choice = choose_input_size(sizes, cfg.input_pixels, cfg.size_multiple)
        cfg = dataclasses.replace(cfg, height=size_choice.height, width=size_choice.width)
        info(size_choice.describe())
    ds = load_sources(sources, cfg.input_size, strict, what=str(data))
    report_skips(ds.skipped, listed_in=str(Path(out) / "metrics.json"))
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    if len(normals) == 0:
        raise UserError(f"{data}: no normal images found; training needs normal (spill-free) images")
    info(f"loaded {len(normals)} normal and {len(spills)} spill images in {time.perf_counter() - t0:.1f} s")
    with atomic_dir(out, force=force) as tmp:
        (tmp / "plots").mkdir()
        tracker = Tracker(tmp, wandb, name=Path(out).name, config=cfg.to_dict())
        det = SpillDetector(cfg).fit(normals, spills, on_epoch=tracker.log)
        choices = dict(det.choices_)
        if size_choice is not None:
            choices["input_size"] = {**size_choice.to_dict(), "how": size_choice.describe()}
        for key in ("model", "greyscale", "anomalies", "schedule", "threshold_rule"):
            if key in choices:
                info(choices[key]["how"])
        det.save(tmp / "checkpoint.pt")
        validation = validate(det, normals, spills, cfg.seed)
        gate = validation_gate(
            validation,
            len(det.holdout_.spill_check),
            validation["synthetic"],
            rule_choice=choices.get("threshold_rule"),
        )
        h = det.holdout_
        # the scoring service's drift panel compares the line with these validation normals
        write_drift_reference(tmp / "drift_reference.json", normals[h.val], h.val_scores, det.threshold())
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
            "config": det.config.to_dict(),
            "choices": choices,
            "gate": gate,
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
            "promise": det.promise_,
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
    if det.promise_ is not None:
        info(describe_promise(det.promise_))
    for line in gate_lines(gate):
        info(line)
    if require_auc is not None:
        why = requirement_failure(gate, require_auc)
        if why:
            raise UserError(f"{why} (the run is written to {out} for inspection)")
    return TrainResult(Path(out), det, metrics)
