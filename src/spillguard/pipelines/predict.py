"""Score new images with a run's detector: files, folders and glob patterns -> (path, score, verdict)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from sharedcore.atomic import atomic_path
from sharedcore.errors import UserError
from spillguard.data import Skip, check_skips, expand_inputs, load_images
from spillguard.detector import SpillDetector


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
