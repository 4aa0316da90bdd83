"""Evaluate a detector on labelled images: scores, metrics with 95% CIs at every threshold rule,
plots and an example grid in an evaluation folder (default RUN/evaluation), and the run's report."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sharedcore.atomic import atomic_dir, check_output
from sharedcore.errors import UserError
from spillguard.data import ImageSet, input_folders, labelled_sources, load_sources, report_skips
from spillguard.data.masks import load_masks
from spillguard.detector import SpillDetector
from spillguard.metrics.detection import evaluate_scores, recon_metrics
from spillguard.metrics.localisation import pixel_metrics
from spillguard.pipelines.train import skips_json
from spillguard.post_processing.false_alarms import check_promise
from spillguard.post_processing.thresholds import threshold_stream
from spillguard.reporting.heatmaps import display_maps, overlay, upsampled
from spillguard.reporting.plots import draw_examples, plot_scores
from spillguard.reporting.run_report import EVALUATION, read_run_json, render_run_report, write_scores

#: how many of the highest-scored test images get their map drawn for the report
TOP_MAPS = 8


@dataclass
class EvaluationResult:
    """An evaluation: its folder, ``record`` (what test_metrics.json holds), labels and scores (N,)."""

    folder: Path
    record: dict[str, Any]
    labels: np.ndarray
    scores: np.ndarray

    @property
    def metrics(self) -> dict[str, Any]:
        """Ranking metrics, and rates at every threshold rule (``at_threshold``)."""
        return self.record["metrics"]


def check_both_classes(labels: np.ndarray, shown: str) -> None:
    """UserError unless ``labels`` hold normals (0) and spills (1): with one class ROC/PR AUC and the
    TPR/TNR pair are undefined, so an evaluation needs both."""
    n_spill = int(np.asarray(labels).sum())
    n_normal = len(labels) - n_spill
    if n_spill == 0 or n_normal == 0:
        raise UserError(
            f"{shown}: {n_normal} normal and {n_spill} spill image(s): with only one class ROC/PR AUC and "
            "TPR/TNR are undefined; evaluate on labelled data holding both (to score unlabelled images "
            "use 'spillguard predict')"
        )


def evaluate_detector(
    det: SpillDetector,
    ds: ImageSet,
    out: str | os.PathLike[str],
    test_shown: str,
    run_shown: str,
    stream_from: np.ndarray | None = None,
    force: bool = False,
    masks: list[np.ndarray] | None = None,
) -> EvaluationResult:
    """Score ``ds`` with ``det`` and write the evaluation folder ``out`` (atomically).

    ``stream_from``: validation-normal scores; when given, the ``stream`` rule (fpr quantile
    re-centred on the unlabelled scores of ``ds``) is measured too. ``masks``: a defect mask (H, W)
    bool per image at its own size; when given, the anomaly maps (upsampled to each mask) are
    judged by ``pixel_roc_auc`` and ``pixel_pro``. The maps of the TOP_MAPS highest-scored images
    are drawn into ``maps/`` for the report. ``test_shown`` / ``run_shown``
    name the data and the run in the files.
    """
    check_output(out, force, kind="dir")
    check_both_classes(ds.labels, test_shown)
    cfg = det.config
    t0 = time.perf_counter()
    scores = det.score_samples(ds.images)
    seconds = time.perf_counter() - t0
    thresholds = dict(det.thresholds_)
    if stream_from is not None:
        thresholds["stream"] = threshold_stream(stream_from, scores, cfg.target_fpr)
    metrics = evaluate_scores(ds.labels, scores, thresholds, seed=cfg.seed)
    if det.decoder_fitted_:  # auxiliary figure beside the head's score; verdicts stay the head's
        metrics["recon"] = recon_metrics(ds.labels, det.recon_score(ds.images), cfg.seed)
    promise = det.promise_
    rule_rates = metrics["at_threshold"].get(det.threshold_rule_)
    if promise is not None and rule_rates is not None:  # the run's promise against these test normals
        metrics["promise_check"] = check_promise(promise, rule_rates["confusion"]["fp"], metrics["n_normal"])
    maps = det.anomaly_maps(ds.images)
    if masks is not None:
        metrics.update(pixel_metrics(upsampled(maps, [m.shape for m in masks]), masks))
    record = {
        "run": run_shown,
        "data": {"root": test_shown, "n": len(ds.labels), "skipped": skips_json(ds.skipped)},
        "thresholds": thresholds,
        "threshold_rule": det.threshold_rule_,
        "score_seconds": seconds,
        "metrics": metrics,
    }
    with atomic_dir(out, force=force) as tmp:
        write_scores(tmp / "scores_test.csv", ds.paths, ds.labels, scores)
        (tmp / "test_metrics.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        plot_scores(ds.labels, scores, thresholds, tmp, "test", f"test ({test_shown})")
        draw_examples(det, ds.images, ds.labels, scores, tmp / "test_grid.png", "Test examples")
        top = np.argsort(-scores, kind="stable")[:TOP_MAPS]
        (tmp / "maps").mkdir()
        for rank, (i, m) in enumerate(zip(top, display_maps(maps[top], det), strict=True), start=1):
            # from the decoded image (input size): ds.paths may name where the files will be (demo)
            dest = tmp / "maps" / f"{rank:02d}_{Path(ds.paths[i]).stem}.png"
            Image.fromarray(overlay(ds.images[i], m)).save(dest, format="PNG")
    return EvaluationResult(Path(out), record, ds.labels, scores)


def evaluate_run(
    run: str | os.PathLike[str],
    test: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    strict: bool = False,
    force: bool = False,
    masks: str | os.PathLike[str] | None = None,
) -> EvaluationResult:
    """``spillguard evaluate``: score the labelled images of ``test`` with the run's detector.

    Writes ``out`` (default ``RUN/evaluation``); with the default, the run's report is rendered
    again with the new test section. ``masks``: folder of defect masks named as the images (.png,
    255 = defect) for the pixel-level metrics.
    """
    run_dir = Path(run)
    target = Path(out) if out is not None else run_dir / EVALUATION
    det = SpillDetector.load(run_dir)
    check_output(target, force, kind="dir", inputs=[run_dir, test])  # before any image is decoded
    rerender = target.resolve() == (run_dir / EVALUATION).resolve()
    train_metrics = read_run_json(run_dir / "metrics.json") if rerender else None  # checked first too
    size = det.config.input_size
    src = labelled_sources(test)
    check_output(target, force, kind="dir", inputs=input_folders(src))  # e.g. -o DATA/test --force
    check_both_classes(np.asarray(src.labels, dtype=np.int64), str(test))
    ds = load_sources(src, size, strict, what=str(test))
    report_skips(ds.skipped, listed_in=str(target / "test_metrics.json"))
    mask_arrays = load_masks(masks, ds.paths, ds.labels) if masks is not None else None
    res = evaluate_detector(det, ds, target, str(test), str(run_dir), force=force, masks=mask_arrays)
    if train_metrics is not None:  # the train command's numbers, with the new test section
        render_run_report(train_metrics, run_dir, [(target, res.record)])
    return res
