"""Checking an uploaded image before it reaches the model: size limit, type read from the bytes (never
from a name or header), pixel limit against decompression bombs, then the one decode+resize step."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from sharedcore.errors import UserError
from sharedcore.web import ServiceError
from spillguard.data import decode_image

ACCEPTED_FORMATS = ("JPEG", "PNG")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 4_000_000


@dataclass(frozen=True)
class Limits:
    """Upload limits: bytes per image, pixels per image, images per batch request."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = 1024


@dataclass(frozen=True)
class Upload:
    """A checked image: model-size pixels, its digest, and the format read from its bytes."""

    pixels: np.ndarray  # (H, W, 3) uint8 at the model's input size
    sha256: str
    format: str  # "JPEG" or "PNG"
    data: bytes


def check_image(data: bytes, size: tuple[int, int], limits: Limits, what: str = "image") -> Upload:
    """Validate and decode ``data`` to ``size`` = (height, width); ServiceError with the 4xx to answer."""
    if not data:
        raise ServiceError(400, "empty_body", f"{what}: empty body (0 bytes); send a JPEG or PNG image")
    if len(data) > limits.max_bytes:
        raise ServiceError(
            413,
            "too_large",
            f"{what}: {len(data):,} bytes is over the limit of {limits.max_bytes:,} bytes; send a smaller image",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: our own limit decides
            head = Image.open(io.BytesIO(data))
            fmt, (w, h) = head.format or "", head.size
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ServiceError(
            415, "not_an_image", f"{what}: the bytes are not a JPEG or PNG image (starts with {data[:8]!r})"
        ) from None
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise ServiceError(
            422,
            "bad_image",
            f"{what}: truncated or damaged image header ({type(exc).__name__}); send the whole file again",
        ) from None
    if fmt not in ACCEPTED_FORMATS:
        raise ServiceError(
            415, "unsupported_type", f"{what}: {fmt} images are not accepted; send JPEG or PNG"
        )
    if w * h > limits.max_pixels:
        raise ServiceError(
            422,
            "too_many_pixels",
            f"{what}: {w}x{h} = {w * h:,} pixels is over the limit of {limits.max_pixels:,}; send the pit crop",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = decode_image(data, size)
    except UserError as exc:
        raise ServiceError(
            422, "undecodable", f"{what}: {fmt} cannot be decoded ({exc}); the file is truncated or corrupt"
        ) from None
    return Upload(pixels, hashlib.sha256(data).hexdigest(), fmt, data)
