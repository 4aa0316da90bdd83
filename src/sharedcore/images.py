"""Validated image loading: every failure becomes a UserError naming the file, or a listed skip."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from sharedcore.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class ScanResult:
    """Image files found in a folder, and the files passed over with the reason for each."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def open_image(path: str | os.PathLike[str], mode: str = "RGB") -> Image.Image:
    """Open ``path`` fully decoded and converted to ``mode`` ("RGB", "RGBA" or "L").

    Transparent images converted to RGB are composited on black; CMYK, palette and greyscale
    inputs are converted. Raises UserError for missing, empty, corrupt or non-image files.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file; check the path")
    if p.stat().st_size == 0:
        raise UserError(f"{p}: file is empty (0 bytes); remove it or replace it with a valid image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                im.load()
                img = im.copy()
    except UnidentifiedImageError:
        raise UserError(f"{p}: not an image file Pillow can read; remove it or convert it") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{p}: corrupt or truncated image ({exc}); remove or replace it") from None
    return convert_mode(img, mode)


def convert_mode(img: Image.Image, mode: str) -> Image.Image:
    """Convert any Pillow image to ``mode``; RGBA -> RGB composites onto black."""
    if img.mode == mode:
        return img
    if mode == "RGB" and ("A" in img.getbands() or (img.mode == "P" and "transparency" in img.info)):
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return img.convert(mode)


def load_array(
    path: str | os.PathLike[str], mode: str = "RGB", size: tuple[int, int] | None = None
) -> np.ndarray:
    """Load an image as a uint8 array of shape (H, W, C) (or (H, W) for "L").

    ``size`` is (width, height); when given, the image is resized with bilinear filtering.
    """
    img = open_image(path, mode)
    if size is not None and img.size != (size[0], size[1]):
        img = img.resize((size[0], size[1]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def scan_folder(
    folder: str | os.PathLike[str],
    suffixes: Sequence[str] = IMAGE_SUFFIXES,
    recursive: bool = False,
    verify: bool = True,
) -> ScanResult:
    """List image files in ``folder`` (sorted by name); other files and unreadable images are skipped.

    With ``verify`` each image header is checked, so corrupt files land in ``skipped``.
    Raises UserError if the folder does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder; check the path")
    result = ScanResult()
    entries = sorted(root.rglob("*") if recursive else root.iterdir())
    for p in entries:
        if p.is_dir() or p.name.startswith("."):
            continue
        if p.suffix.lower() not in suffixes:
            result.skipped.append((p, "not an image file (unknown extension)"))
            continue
        if p.stat().st_size == 0:
            result.skipped.append((p, "empty file (0 bytes)"))
            continue
        if verify:
            try:
                with Image.open(p) as im:
                    im.verify()
            except Exception as exc:  # Pillow raises many types for bad files
                result.skipped.append((p, f"unreadable image ({type(exc).__name__})"))
                continue
        result.paths.append(p)
    return result


def require_images(scan: ScanResult, folder: str | os.PathLike[str], strict: bool = False) -> list[Path]:
    """Return the images of a scan; raise UserError if there are none, or if ``strict`` and any was skipped."""
    if strict and scan.skipped:
        p, why = scan.skipped[0]
        more = f" (and {len(scan.skipped) - 1} more)" if len(scan.skipped) > 1 else ""
        raise UserError(f"{p}: {why}{more}; remove it, or run without --strict to skip it")
    if not scan.paths:
        raise UserError(f"{folder}: no readable images found; point to a folder of PNG/JPEG files")
    return scan.paths
