"""Whether a drawn avatar nearly copies a training image: the share of identical pixels, and the
mean colour distance on a coarse grid, estimated on a cheap preview first."""

from __future__ import annotations

import numpy as np

from avatargen.pixels.joint import pack


def identical_shares(packed: np.ndarray, img: np.ndarray, step: int = 1) -> np.ndarray:
    """Share of pixels of ``img`` (H, W, 4) identical to each training image (``packed``: (N, H, W)
    uint32) -> (N,); with ``step`` > 1 estimated on every step-th row."""
    same = packed[:, ::step] == pack(img)[None, ::step]
    return np.count_nonzero(same.reshape(len(same), -1), axis=1) / same[0].size


def too_close(
    packed: np.ndarray,
    small: np.ndarray,
    preview: np.ndarray,
    full: np.ndarray | None,
    max_identical: float | None,
    min_distance: float | None,
) -> bool | None:
    """A near-copy: more than ``max_identical`` of its pixels identical to a training image, or
    nearer than ``min_distance`` (``small``: the training images on every eighth row and column, float
    RGBA). ``preview``: packed composite of every fourth row. Returns None when only ``full`` (the
    packed composite) can decide (the estimate lies near the bound)."""
    verdict: bool | None = False
    if max_identical is not None:
        same = packed[:, ::4] == preview[None]
        est = np.count_nonzero(same.reshape(len(same), -1), axis=1).max() / same[0].size
        if est > max_identical + 0.03:
            return True
        if est > max_identical - 0.03:
            if full is None:
                verdict = None
            elif identical_shares(packed, full[..., None].view(np.uint8)).max() > max_identical:
                return True
    if min_distance is not None:
        sm = preview[::2, ::8][..., None].view(np.uint8).astype(np.float32)
        d = small - sm[None]
        if np.sqrt((d * d).sum(axis=-1)).mean(axis=(1, 2)).min() < min_distance:
            return True
    return verdict
