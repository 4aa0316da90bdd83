"""Score new images with a run's detector (torch) or an exported model (onnxruntime): files, folders
and glob patterns -> (path, score, verdict)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from sharedcore.atomic import atomic_dir, atomic_path, check_output
from sharedcore.errors import UserError
from spillguard.data import Skip, check_skips, expand_inputs
from spillguard.deploy.backends import is_onnx_file, load_scorer
from spillguard.deploy.batch_scoring import score_paths


def predict_paths(
    run: str | os.PathLike[str],
    items: Sequence[str],
    rule: str | None = None,
    strict: bool = False,
    batch: int = 2048,
    backend: str = "auto",
    output: str | os.PathLike[str] | None = None,
) -> tuple[list[tuple[Path, float, bool]], list[Skip]]:
    """Score files, folders and glob patterns; returns (path, score, is_spill) rows and the skips.

    ``run`` is a run folder (torch, or ``backend="onnx"`` to export it in memory and score on
    onnxruntime) or an exported ``.onnx`` file. Decoding overlaps scoring (``deploy.batch_scoring``).
    ``output``: the file the rows will be written to; refused (before scoring) when it is one of the
    images to score.
    """
    scorer = load_scorer(run, backend)
    scorer.threshold(rule)  # an unknown rule fails before any file is read
    paths, skipped = expand_inputs(items)
    if output is not None:
        check_output(output, True, kind="file", inputs=paths)
    check_skips(skipped, strict)
    rows, bad = score_paths(scorer, paths, rule, strict, batch)
    if not rows:
        raise UserError(f"{' '.join(items)}: no readable images to score; point to JPEG/PNG files or folders")
    return rows, skipped + bad


#: Columns of the predictions CSV (the same as the cluster's Parquet dataset): a file that could not
#: be scored is a row with an empty score and verdict and its reason in ``error``.
COLUMNS = ("path", "score", "verdict", "error")


def write_predictions(
    path: str | os.PathLike[str],
    rows: Sequence[tuple[Path, float, bool]],
    force: bool = False,
    skipped: Sequence[Skip] = (),
) -> Path:
    """CSV with ``COLUMNS``: the scored rows, then one row per skipped file (empty score and verdict,
    the reason in ``error``), written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    w.writerows((str(p), f"{s:.6g}", "spill" if v else "normal", "") for p, s, v in rows)
    w.writerows((str(p), "", "", why) for p, why in skipped)
    with atomic_path(path, force) as tmp:
        # a file name that is not UTF-8 is written as its own bytes (as `ls` and predict's stdout print
        # it), so that the path column names the file exactly
        tmp.write_text(buf.getvalue(), encoding="utf-8", errors="surrogateescape")
    return Path(path)


def write_prediction_maps(
    run: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    folder: str | os.PathLike[str],
    force: bool = False,
    batch: int = 256,
) -> Path:
    """``predict --maps``: one heatmap PNG per image of ``paths`` (the run's anomaly map over the
    image, ``spillguard.reporting.heatmaps``) into ``folder``, built atomically. Needs a run folder
    (torch); error maps are scaled by the largest value of each batch of ``batch`` images."""
    from spillguard.data import load_images
    from spillguard.detector import SpillDetector
    from spillguard.reporting.heatmaps import display_maps, map_names, save_overlay

    if is_onnx_file(run):
        raise UserError(f"{run}: an exported model has no anomaly maps; give the run folder for --maps")
    check_output(folder, force, kind="dir", inputs=[run, *paths])
    det = SpillDetector.load(run)
    names = map_names(paths)
    with atomic_dir(folder, force=force) as tmp:
        for i in range(0, len(paths), batch):
            chunk = list(paths[i : i + batch])
            images, idx, _ = load_images(chunk, det.input_size)
            maps = display_maps(det.anomaly_maps(images), det)
            for j, m in zip(idx, maps, strict=True):
                save_overlay(chunk[j], m, tmp / names[i + j])
    return Path(folder)
