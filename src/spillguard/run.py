"""Run folders: train a detector and write everything needed to reproduce and to score new images
(checkpoint, metrics.json, score CSVs, plots, grids, report.html); evaluate a run on labelled data;
score new images. Each folder is built in a temporary folder and renamed when complete."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import atomic_dir, atomic_path
from sharedcore.console import info
from sharedcore.errors import UserError
from spillguard import __version__
from spillguard.config import TrainConfig
from spillguard.data import (
    ImageSet,
    Skip,
    check_skips,
    expand_inputs,
    labelled_sources,
    load_images,
    load_sources,
    training_sources,
)
from spillguard.detector import SpillDetector, recon_metrics
from spillguard.metrics import evaluate_scores
from spillguard.newline.gate import gate_lines, requirement_failure
from spillguard.newline.input_size import choose_input_size, image_sizes
from spillguard.report import plot_grid, plot_history, plot_scores, write_report
from spillguard.tracking import Tracker


def _write_scores(path: Path, paths: Sequence[Any], labels: np.ndarray, scores: np.ndarray) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "score"])
        w.writerows((str(p), int(y), f"{s:.6g}") for p, y, s in zip(paths, labels, scores, strict=True))


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
    det: SpillDetector, images: np.ndarray, labels: np.ndarray, scores: np.ndarray, path: Path, title: str
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


def _skips_json(skipped: Sequence[Skip]) -> list[list[str]]:
    return [[str(p), why] for p, why in skipped]


def report_skips(skipped: Sequence[Skip]) -> None:
    """Print the list of skipped files."""
    if skipped:
        info(f"skipped {len(skipped)} file(s):")
        for p, why in skipped[:50]:
            info(f"  {p}: {why}")
        if len(skipped) > 50:
            info(f"  ... and {len(skipped) - 50} more (all listed in metrics.json)")


def train_run(
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TrainConfig,
    strict: bool = False,
    force: bool = False,
    wandb: bool = False,
    require_auc: float | None = None,
) -> Path:
    """Load ``data``, train, and write the run folder ``out``; returns its path.

    ``require_auc``: raise UserError (exit code 2) after writing the run when its validation gate
    AUC is below this value or cannot be measured (``spillguard.newline.gate``).
    """
    cfg = config.validate()
    t0 = time.perf_counter()
    sources = training_sources(data)
    size_choice = None
    if cfg.height is None or cfg.width is None:  # chosen from the data (spillguard.newline.input_size)
        sizes = image_sizes(sources.of_label(0) or sources.paths, seed=cfg.seed)
        if not sizes:
            raise UserError(
                f"{data}: no readable images found among the normal ones; point to a folder of JPEG/PNG files"
            )
        size_choice = choose_input_size(sizes, cfg.input_pixels)
        cfg = dataclasses.replace(cfg, height=size_choice.height, width=size_choice.width)
        info(size_choice.describe())
    ds = load_sources(sources, cfg.input_size, strict, what=str(data))
    report_skips(ds.skipped)
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
        for key in ("greyscale", "anomalies", "schedule"):
            if key in choices:
                info(choices[key]["how"])
        det.save(tmp / "checkpoint.pt")
        vs = det.validation_scores_
        labels = np.r_[np.zeros(len(vs["normal"]), int), np.ones(len(vs["spill"]), int)]
        scores = np.r_[vs["normal"], vs["spill"]]
        _write_scores(
            tmp / "scores_validation.csv",
            ["validation"] * len(vs["normal"]) + ["known spill"] * len(vs["spill"]),
            labels,
            scores,
        )
        metrics = {
            "spillguard_version": __version__,
            "config": det.config.to_dict(),
            "choices": choices,
            "gate": det.gate_,
            "data": {
                "root": str(data),
                "layout": sources.layout,
                "n_normal": len(normals),
                "n_spill": len(spills),
                "skipped": _skips_json(ds.skipped),
            },
            "sizes": det.sizes_,
            "train_seconds": det.train_seconds_,
            "history": det.history_,
            "decoder_history": det.decoder_history_,
            "thresholds": det.thresholds_,
            "threshold_rule": det.threshold_rule_,
            "validation": det.validation_,
        }
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        val_images = np.concatenate([det.validation_images_["normal"], det.validation_images_["spill"]])
        draw_examples(
            det,
            val_images,
            labels,
            scores,
            tmp / "plots" / "recon_grid.png",
            "Validation normals and known spills",
        )
        figs = plot_history(det.history_, tmp / "plots") + plot_scores(
            labels, scores, det.thresholds_, tmp / "plots", "val", "validation"
        )
        write_report(tmp)
        tracker.finish(
            {"val_roc_auc": det.validation_["roc_auc"], "train_seconds": det.train_seconds_},
            {f.stem: f for f in figs},
        )
    info(
        f"trained in {det.train_seconds_:.1f} s ({len(det.history_)} epochs); validation ROC AUC {det.validation_['roc_auc']:.4f}"
    )
    for line in gate_lines(det.gate_):
        info(line)
    if require_auc is not None:
        why = requirement_failure(det.gate_, require_auc)
        if why:
            raise UserError(f"{why} (the run is written to {out} for inspection)")
    return Path(out)


def evaluate_run(
    run: str | os.PathLike[str],
    test: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    strict: bool = False,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Score labelled images of ``test`` with the run's detector at every threshold rule.

    Writes ``test_metrics.json``, ``scores_test.csv``, plots and an example grid to ``out`` (default
    ``RUN/evaluation``) and rebuilds the run's report. Returns the folder and the metrics.
    """
    run_dir = Path(run)
    det = SpillDetector.load(run_dir)
    cfg = det.config
    ds: ImageSet = load_sources(labelled_sources(test), cfg.input_size, strict, what=str(test))
    report_skips(ds.skipped)
    t0 = time.perf_counter()
    scores = det.score_samples(ds.images)
    seconds = time.perf_counter() - t0
    metrics = evaluate_scores(ds.labels, scores, det.thresholds_, seed=cfg.seed)
    if det.decoder_fitted_:  # auxiliary figure beside the head's score; verdicts stay the head's
        metrics["recon"] = recon_metrics(ds.labels, det.recon_score(ds.images), cfg.seed)
    target = Path(out) if out is not None else run_dir / "evaluation"
    with atomic_dir(target, force=force) as tmp:
        _write_scores(tmp / "scores_test.csv", ds.paths, ds.labels, scores)
        result = {
            "run": str(run_dir),
            "data": {"root": str(test), "n": len(ds.labels), "skipped": _skips_json(ds.skipped)},
            "thresholds": det.thresholds_,
            "threshold_rule": det.threshold_rule_,
            "score_seconds": seconds,
            "metrics": metrics,
        }
        (tmp / "test_metrics.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        plot_scores(ds.labels, scores, det.thresholds_, tmp, "test", "test")
        draw_examples(det, ds.images, ds.labels, scores, tmp / "test_grid.png", "Test examples")
    if target.parent.resolve() == run_dir.resolve():
        write_report(run_dir)
    return target, metrics


def predict_paths(
    run: str | os.PathLike[str],
    items: Sequence[str],
    rule: str | None = None,
    strict: bool = False,
    batch: int = 2048,
) -> tuple[list[tuple[Path, float, bool]], list[Skip]]:
    """Score files, folders and glob patterns; returns (path, score, is_spill) rows and the skips.

    JPEG decoding of the next chunk runs in a second thread while the network scores the current one.
    """
    det = SpillDetector.load(run)
    threshold = det.threshold(rule)
    paths, skipped = expand_inputs(items)
    check_skips(skipped, strict)
    size = det.config.input_size
    chunks = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    rows: list[tuple[Path, float, bool]] = []
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(load_images, chunks[0], size) if chunks else None
        for k, chunk in enumerate(chunks):
            assert pending is not None
            images, idx, bad = pending.result()
            pending = pool.submit(load_images, chunks[k + 1], size) if k + 1 < len(chunks) else None
            skipped += bad
            check_skips(bad, strict)
            scores = det.score_samples(images) if len(idx) else np.zeros(0)
            rows += [(chunk[j], float(s), bool(s > threshold)) for j, s in zip(idx, scores, strict=True)]
    if not rows:
        raise UserError(f"{' '.join(items)}: no readable images to score; point to JPEG/PNG files or folders")
    return rows, skipped


def write_predictions(
    path: str | os.PathLike[str], rows: Sequence[tuple[Path, float, bool]], force: bool = False
) -> Path:
    """CSV with columns path, score, verdict (spill / normal), written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "score", "verdict"])
    w.writerows((str(p), f"{s:.6g}", "spill" if v else "normal") for p, s, v in rows)
    with atomic_path(path, force) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    return Path(path)
