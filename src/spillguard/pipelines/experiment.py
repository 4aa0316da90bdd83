"""Experiments: train one run per config (YAML), evaluate each on the same labelled images, and write
a comparison (table with 95% CIs, training time, scoring speed, overlaid ROC curves) plus an error
analysis of the variant chosen without test labels, gathered in one HTML report.

Threshold rules in the table: the run's own rule (chosen on train/validation/known spills), and
``stream`` (``post_processing.thresholds.threshold_stream``): the run's fpr quantile re-centred on the
evaluated images' unlabelled scores, as a plant would calibrate on recent images (never their labels).
Each variant's run folder holds its own evaluation (``runs/NAME/evaluation``, stream rule included).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import atomic_dir, check_output
from sharedcore.console import info
from sharedcore.errors import UserError
from sharedcore.report import HtmlReport
from spillguard.config import TrainConfig
from spillguard.data import ImageSet, labelled_sources, load_sources
from spillguard.detector import SpillDetector
from spillguard.pipelines.evaluate import EvaluationResult, evaluate_detector
from spillguard.pipelines.train import TrainResult, train_run
from spillguard.reporting.experiment_report import (
    MAX_GRID,
    latent_projection,
    lighting_analysis,
    misclassified_grids,
    plot_rocs,
)
from spillguard.reporting.run_report import EVALUATION, render_run_report


@dataclass
class Variant:
    """One config of an experiment and what its run produced."""

    name: str
    config: TrainConfig
    train: TrainResult | None = None
    evaluation: EvaluationResult | None = None
    images_per_s: float = float("nan")

    @property
    def detector(self) -> SpillDetector:
        """The trained detector (after the run)."""
        assert self.train is not None, "variant not trained yet"
        return self.train.detector

    @property
    def test(self) -> EvaluationResult:
        """The evaluation on the experiment's labelled images (after the run)."""
        assert self.evaluation is not None, "variant not evaluated yet"
        return self.evaluation


def load_variants(paths: Sequence[str | os.PathLike[str]], overrides: dict[str, Any]) -> list[Variant]:
    """Read every config (named by file stem) and apply ``overrides``; UserError on bad or duplicate names."""
    out: list[Variant] = []
    for p in paths:
        cfg = TrainConfig.from_yaml(p).to_dict()
        cfg.update({k: v for k, v in overrides.items() if v is not None})
        name = Path(p).stem
        if any(v.name == name for v in out):
            raise UserError(f"{p}: a config named '{name}' is already in this experiment; rename one file")
        out.append(Variant(name, TrainConfig.from_dict(cfg, source=str(p))))
    if not out:
        raise UserError("no configs given; pass one or more YAML files (see src/spillguard/configs/)")
    return out


def scoring_speed(det: SpillDetector, images: np.ndarray, min_images: int = 4000) -> float:
    """Images per second of ``det.score_samples`` (decoded images), best of 3 passes."""
    reps = max(1, -(-min_images // max(1, len(images))))
    batch = np.concatenate([images] * reps) if reps > 1 else images
    det.score_samples(batch[:64])  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        det.score_samples(batch)
        best = min(best, time.perf_counter() - t0)
    return len(batch) / best


def choose_best(variants: Sequence[Variant]) -> Variant:
    """The variant to ship, chosen WITHOUT test labels: the mean robustness AUC of validation
    (spillguard.metrics.robustness: known spills and pasted spill looks, plain and under simulated
    camera and lighting shift, the known failure mode), then the plain validation ROC AUC, then
    validation TPR + TNR at the variant's own rule. (For heads trained on known spills the 'known'
    AUCs are in-sample.)"""

    def key(v: Variant) -> tuple[float, float, float]:
        assert v.train is not None
        m, rule = v.train.validation, v.detector.threshold_rule_
        t = m["at_threshold"][rule]
        return (
            float(np.nan_to_num(m["robustness"]["mean"])),
            float(np.nan_to_num(m.get("roc_auc", 0.0))),
            float(np.nan_to_num(t["tpr"] + t["tnr"])),
        )

    return max(variants, key=key)


def _ci(t: dict[str, Any], key: str) -> str:
    return f"{t[key]:.3f} [{t[key + '_ci'][0]:.3f}, {t[key + '_ci'][1]:.3f}]"


def table_rows(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    """One row per variant: test ROC AUC, TPR/TNR at its rule and at 'stream', time and speed."""
    rows = []
    for v in variants:
        m, tm = v.test.metrics, v.train.metrics if v.train is not None else {}
        rule = tm["threshold_rule"]
        t, s = m["at_threshold"][rule], m["at_threshold"]["stream"]
        rows.append(
            {
                "variant": v.name,
                "model": v.config.model,
                "loss": v.config.loss,
                "score": v.config.score,
                "val AUC": tm["validation"].get("roc_auc", float("nan")),
                "test ROC AUC": f"{m['roc_auc']:.4f} [{m['roc_auc_ci'][0]:.4f}, {m['roc_auc_ci'][1]:.4f}]",
                "rule": rule,
                "TPR": _ci(t, "tpr"),
                "TNR": _ci(t, "tnr"),
                "TPR stream": _ci(s, "tpr"),
                "TNR stream": _ci(s, "tnr"),
                "best TNR at TPR 0.98 (labels)": m.get("tnr_at_tpr_0.98", float("nan")),
                "train s": tm["train_seconds"],
                "images/s": v.images_per_s,
            }
        )
    return rows


@dataclass
class ExperimentResult:
    """An experiment: its variants (trained and evaluated), the comparison rows, the chosen one."""

    folder: Path
    variants: list[Variant]
    rows: list[dict[str, Any]]
    best: Variant


def run_experiment(
    configs: Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str],
    test: str | os.PathLike[str],
    out: str | os.PathLike[str],
    overrides: dict[str, Any] | None = None,
    wandb: bool = False,
    strict: bool = False,
    force: bool = False,
) -> ExperimentResult:
    """Train and evaluate every config; write runs/, comparison.{csv,json}, figures and report.html."""
    variants = load_variants(configs, overrides or {})
    check_output(out, force, kind="dir", inputs=[*configs, data, test])  # before training every variant
    with atomic_dir(out, force=force) as tmp:
        (tmp / "runs").mkdir()
        cache: dict[tuple[int, int], ImageSet] = {}
        for v in variants:
            info(f"[{v.name}] training")
            v.train = train_run(data, tmp / "runs" / v.name, v.config, strict=strict, wandb=wandb)
            v.config = v.detector.config  # resolved: input size, schedule, looks as chosen from the data
            size = v.config.input_size
            if size not in cache:
                cache[size] = load_sources(labelled_sources(test), size, strict, what=str(test))
            ds = cache[size]
            run_shown = str(Path(out) / "runs" / v.name)
            v.evaluation = evaluate_detector(
                v.detector, ds, v.train.run / EVALUATION, str(test), run_shown,
                stream_from=v.detector.holdout_.val_scores,
            )  # fmt: skip
            render_run_report(v.train.metrics, v.train.run, [(v.test.folder, v.test.record)])
            v.images_per_s = scoring_speed(v.detector, ds.images)
            info(f"[{v.name}] test ROC AUC {v.test.metrics['roc_auc']:.4f}, {v.images_per_s:.0f} images/s")
        rows = table_rows(variants)
        best = choose_best(variants)
        result = ExperimentResult(Path(out), variants, rows, best)
        write_experiment(result, cache, data, test, tmp)
    for v in variants:  # the results name the final folders, not the temporary one they were built in
        run = Path(out) / "runs" / v.name
        v.train = dataclasses.replace(v.train, run=run) if v.train is not None else None
        v.evaluation = dataclasses.replace(v.test, folder=run / EVALUATION)
    return result


def write_experiment(
    result: ExperimentResult,
    images: dict[tuple[int, int], ImageSet],
    data: str | os.PathLike[str],
    test: str | os.PathLike[str],
    tmp: Path,
) -> Path:
    """Write comparison.{json,csv}, ROC curves, the error analysis and report.html into ``tmp``."""
    variants, rows, best = result.variants, result.rows, result.best
    (tmp / "comparison.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(f'"{r[h]}"' for h in header) for r in rows]
    (tmp / "comparison.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = variants[0].test.labels
    figs = plot_rocs([(v.name, v.test.scores, v.test.metrics["roc_auc"]) for v in variants], labels, tmp)
    rep = HtmlReport("spillguard experiment")
    rep.paragraph(
        f"Training data {data}; evaluation images {test} (labels used only to measure). "
        "Each variant's own threshold rule is chosen on train/validation/known spills; 'stream' "
        "re-calibrates the fpr rule on the unlabelled evaluated images (median/IQR), never their labels. "
        "Rates with Wilson 95% CIs, ROC AUC with a bootstrap 95% CI; 'best TNR at TPR 0.98' picks the "
        "threshold with test labels and is shown for comparison only. Speed: decoded images per second "
        "of the detector's score_samples (JPEG decoding not included)."
    )
    rep.heading("Comparison")
    rep.table(rows)
    for f in figs:
        rep.image(f.name, caption=f.stem)
    rep.heading(f"Error analysis: {best.name} (chosen on validation, without test labels)")
    analysed = [best, *[v for v in variants if v is not best and v.config.score != "head"][:1]]
    for v in analysed:
        ds, det, scores = images[v.config.input_size], v.detector, v.test.scores
        flagged = scores > det.threshold()
        rows_l, fig_l = lighting_analysis(ds.images, ds.labels, flagged, tmp, v.name)
        rep.heading(f"{v.name}: lighting of errors (rule {det.threshold_rule_})", 3)
        rep.table(rows_l)
        rep.image(fig_l.name, caption=fig_l.stem)
        rep.heading(f"{v.name}: every misclassified test image (up to {MAX_GRID} per kind)", 3)
        for f in misclassified_grids(det, ds.images, ds.labels, scores, tmp, v.name):
            rep.image(f.name, caption=f.stem)
        f = latent_projection(det, ds.images, ds.labels, tmp, v.name)
        rep.image(f.name, caption=f.stem)
    for v in variants:
        if v.config.model == "memory_ae" and v not in analysed:
            ds = images[v.config.input_size]
            f = latent_projection(v.detector, ds.images, ds.labels, tmp, v.name)
            rep.image(f.name, caption=f.stem)
    rep.heading("Runs")
    rep.raw(
        "<ul>"
        + "".join(f'<li><a href="runs/{v.name}/report.html">{v.name}</a></li>' for v in variants)
        + "</ul>"
    )
    (tmp / "best.txt").write_text(best.name + "\n", encoding="utf-8")
    return rep.write(tmp / "report.html")
