"""Score a list of image files with any runtime (torch or onnxruntime): the loop that in-process
``predict`` and every cluster partition share, so both give the same rows at the same speed.

JPEG decoding (``spillguard.data.load_images``: decode + the one shared resize) of the next chunk runs
in a second thread while the scorer works on the current one. Torch-free: the scorer brings its runtime.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from spillguard.data import Skip, check_skips, load_images
from spillguard.deploy.runtime import Scorer

Row = tuple[Path, float, bool]  # path, score, is_spill


def score_paths(
    scorer: Scorer,
    paths: Sequence[str | os.PathLike[str]],
    rule: str | None = None,
    strict: bool = False,
    batch: int = 2048,
    prefetch: bool = True,
) -> tuple[list[Row], list[Skip]]:
    """(path, score, is_spill) for every readable file of ``paths`` (in order), and the skips.

    ``rule`` picks the threshold (default: the model's rule); with ``strict`` the first unreadable
    file raises a UserError instead of becoming a skip. ``prefetch`` decodes the next chunk in a
    second thread (in-process predict); without it decoding and scoring take turns on one core (a
    cluster worker with one thread, so that N workers use N cores).
    """
    threshold = scorer.threshold(rule)
    size = scorer.input_size
    ps = [Path(p) for p in paths]
    chunks = [ps[i : i + batch] for i in range(0, len(ps), batch)]
    rows: list[Row] = []
    skipped: list[Skip] = []

    def score(chunk: list[Path], decoded: tuple[np.ndarray, np.ndarray, list[Skip]]) -> None:
        images, idx, bad = decoded
        skipped.extend(bad)
        check_skips(bad, strict)
        scores = scorer.score_samples(images) if len(idx) else np.zeros(0, np.float32)
        rows.extend((chunk[j], float(s), bool(s > threshold)) for j, s in zip(idx, scores, strict=True))

    if not prefetch:
        for chunk in chunks:
            score(chunk, load_images(chunk, size))
        return rows, skipped
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(load_images, chunks[0], size) if chunks else None
        for k, chunk in enumerate(chunks):
            assert pending is not None
            decoded = pending.result()
            pending = pool.submit(load_images, chunks[k + 1], size) if k + 1 < len(chunks) else None
            score(chunk, decoded)
    return rows, skipped
