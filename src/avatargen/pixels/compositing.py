"""Alpha compositing of RGBA avatars ("over"), on uint8 pixels and on packed uint32 codes."""

from __future__ import annotations

import numpy as np

from avatargen.pixels.joint import pack


def over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Alpha-composite RGBA uint8 ``top`` over ``bottom`` (same shape) -> RGBA uint8."""
    ta = top[..., 3:4].astype(np.float32) / 255.0
    ba = bottom[..., 3:4].astype(np.float32) / 255.0
    out_a = ta + ba * (1.0 - ta)
    rgb = top[..., :3] * ta + bottom[..., :3] * ba * (1.0 - ta)
    rgb = np.divide(rgb, out_a, out=np.zeros_like(rgb), where=out_a > 0)
    out = np.concatenate([rgb, out_a * 255.0], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def alpha_of(codes: np.ndarray) -> np.ndarray:
    """Alpha channel (uint8, same shape) of packed RGBA codes."""
    return np.ascontiguousarray(codes)[..., None].view(np.uint8)[..., 3]


def over_packed(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """:func:`over` on packed uint32 RGBA codes (any shape): exact selection where ``top`` is opaque
    or clear, float blending only at the (few) partly transparent pixels of ``top``."""
    ta = alpha_of(top)
    out = np.where(ta == 0, bottom, top)
    part = np.flatnonzero(((ta > 0) & (ta < 255) & (alpha_of(bottom) > 0)).ravel())
    if part.size:
        t = top.ravel()[part].view(np.uint8).reshape(-1, 4)
        b = bottom.ravel()[part].view(np.uint8).reshape(-1, 4)
        out.ravel()[part] = pack(over(t, b))
    return out
