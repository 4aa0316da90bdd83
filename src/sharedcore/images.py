"""Validated image loading: every failure becomes a UserError naming the file, or a listed skip.

Opening reads the header first: the declared size is checked against a pixel budget before any
pixel is decoded. When a target size is known, JPEGs are decoded at a reduced scale (``draft``) and
other formats are reduced by an integer factor band by band right after decoding, so a folder of
12000x12000 PNGs costs one decoded image at a time, not gigabytes. Folder listings never follow a
directory symbolic link into a loop and name a broken or looping link as a skip.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import os
import re
import stat
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sharedcore.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

# Bands of about this many bytes are reduced at a time (the full image is never copied whole).
_BAND_BYTES = 8 * 1024 * 1024


@dataclass
class ScanResult:
    """Image files found in a folder, and the files passed over with the reason for each."""

    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def default_max_pixels() -> int | None:
    """Pillow's own decompression-bomb limit (2 x ``Image.MAX_IMAGE_PIXELS``), None when disabled."""
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * int(limit)


class _TooLarge(Exception):
    def __init__(self, w: int, h: int, limit: int) -> None:
        super().__init__(
            f"declared size {w}x{h} = {w * h} pixels is over the limit of {limit}; downscale the image"
        )


def _check_declared(im: Image.Image, max_pixels: int | None) -> None:
    limit = default_max_pixels() if max_pixels is None else max_pixels
    w, h = im.size
    if limit is not None and w * h > limit:
        raise _TooLarge(w, h, limit)


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


def unfollowable_link(p: Path) -> str | None:
    """Why ``p`` is a symbolic link that cannot be followed ("symbolic link loop", "broken symbolic
    link (its target is missing)"), or None when it can be (or is no link)."""
    try:
        p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if p.is_symlink():
            return "broken symbolic link (its target is missing)"
    return None


def _check_file(p: Path) -> None:
    try:
        st = p.stat()
    except OSError:
        link = unfollowable_link(p)
        if link is not None:
            raise UserError(f"{p}: {link}; fix or remove the link") from None
        raise UserError(f"{p}: no such file; check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{p}: no such file; check the path")
    if st.st_size == 0:
        raise UserError(f"{p}: file is empty (0 bytes); remove it or replace it with a valid image")


def _reduce_in_bands(im: Image.Image, factor: int) -> Image.Image:
    """``im.reduce(factor)`` computed band by band, so no full-size copy is ever made."""
    w, h = im.size
    per_row = max(1, w * len(im.getbands()))
    rows = max(1, _BAND_BYTES // (per_row * factor)) * factor
    out: Image.Image | None = None
    for y0 in range(0, h, rows):
        band = im.crop((0, y0, w, min(h, y0 + rows))).reduce(factor)
        if out is None:
            out = Image.new(band.mode, (-(-w // factor), -(-h // factor)))
        out.paste(band, (0, y0 // factor))
    assert out is not None
    return out


def _decode(
    im: Image.Image, mode: str, target: tuple[int, int] | None, max_pixels: int | None
) -> Image.Image:
    """Decode an opened (header-only) image: budget check, draft/reduce towards ``target`` = (w, h)."""
    _check_declared(im, max_pixels)
    turned = _orientation(im) in (5, 6, 7, 8)  # EXIF: shown turned by 90 degrees
    if target is not None:
        tw, th = (target[1], target[0]) if turned else target  # reduce as stored, turn after
        if im.format == "JPEG" and im.size[0] >= 2 * tw and im.size[1] >= 2 * th:
            im.draft("RGB", (tw, th))  # DCT-domain downscale (1/2 .. 1/8), never below the target
        im.load()
        factor = min(im.size[0] // tw, im.size[1] // th)
        if factor >= 2:
            if im.mode not in ("1", "L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"):
                im = convert_mode(im, mode)  # e.g. palette: indices cannot be averaged
            im = _reduce_in_bands(im, factor)
    else:
        im.load()
    if _orientation(im) != 1:  # as viewers (and the review page's browser) show it
        im = ImageOps.exif_transpose(im)
    return convert_mode(im, mode)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 = as stored; 2..8 mirrored and/or turned), 1 when absent or odd."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block: the pixels are still usable as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def shown_size(im: Image.Image) -> tuple[int, int]:
    """(width, height) of an opened image as decoded here and shown by viewers: EXIF turns applied."""
    w, h = im.size
    return (h, w) if _orientation(im) in (5, 6, 7, 8) else (w, h)


def open_image(
    path: str | os.PathLike[str],
    mode: str = "RGB",
    *,
    max_pixels: int | None = None,
    reduce_to: tuple[int, int] | None = None,
) -> Image.Image:
    """Open ``path`` fully decoded and converted to ``mode`` ("RGB", "RGBA" or "L").

    Transparent images converted to RGB are composited on black; CMYK, palette and greyscale
    inputs are converted. The declared size must be within ``max_pixels`` (default Pillow's bomb
    limit). With ``reduce_to`` = (width, height), an image at least twice that size in both sides
    comes back reduced by an integer factor (never below ``reduce_to``), cheaply. Raises UserError
    for missing, empty, corrupt, too large or non-image files and for broken symbolic links.
    """
    p = Path(path)
    _check_file(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bombs: our own size check; EXIF noise
            with open(p, "rb") as fh:
                return _decode(Image.open(fh), mode, reduce_to, max_pixels)
    except UnidentifiedImageError:
        raise UserError(f"{p}: not an image file Pillow can read; remove it or convert it") from None
    except _TooLarge as exc:
        raise UserError(f"{p}: {exc}") from None
    except MemoryError:
        raise UserError(f"{p}: image too large to decode in the memory available; downscale it") from None
    except Exception as exc:  # Pillow raises many types for bad files (OSError, SyntaxError, ...)
        raise UserError(f"{p}: corrupt or truncated image ({_why(exc)}); remove or replace it") from None


def convert_mode(img: Image.Image, mode: str) -> Image.Image:
    """Convert any Pillow image to ``mode``; RGBA -> RGB composites onto black."""
    if img.mode == mode:
        return img
    if img.mode.startswith("I;16"):  # 16-bit grey (e.g. a 16-bit PNG): Pillow would clip it to 255
        img = Image.fromarray((np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8), "L")
        if mode == "L":
            return img
    if mode == "RGB" and ("A" in img.getbands() or (img.mode == "P" and "transparency" in img.info)):
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return img.convert(mode)


def load_array(
    path: str | os.PathLike[str],
    mode: str = "RGB",
    size: tuple[int, int] | None = None,
    *,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Load an image as a uint8 array of shape (H, W, C) (or (H, W) for "L").

    ``size`` is (width, height); when given, the image is resized with bilinear filtering (large
    images are first reduced cheaply, see :func:`open_image`).
    """
    img = open_image(path, mode, max_pixels=max_pixels, reduce_to=size)
    if size is not None and img.size != (size[0], size[1]):
        img = img.resize((size[0], size[1]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def decode_array(
    data: bytes, size: tuple[int, int], mode: str = "RGB", *, max_pixels: int | None = None
) -> np.ndarray:
    """Encoded image bytes (JPEG/PNG/...) -> uint8 array (H, W, C) at ``size`` = (width, height).

    Same steps as :func:`load_array`; the UserError message is the reason only (no file name), e.g.
    ``unreadable image (UnidentifiedImageError)``, for callers that list skips per file.
    """
    if not data:
        raise UserError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bombs: our own size check; EXIF noise
            img = _decode(Image.open(io.BytesIO(data)), mode, size, max_pixels)
            if img.size != (size[0], size[1]):
                img = img.resize((size[0], size[1]), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except _TooLarge as exc:
        raise UserError(str(exc)) from None
    except Exception as exc:  # Pillow raises many types for bad files
        raise UserError(f"unreadable image ({type(exc).__name__})") from None


def _entry_problem(p: Path) -> str | None:
    """Why a listed name cannot be read as a file (broken/looping link, not a regular file), or None."""
    try:
        st = p.stat()
    except OSError as exc:
        return unfollowable_link(p) or f"cannot read ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    return None


def _walk_names(root: Path, recursive: bool) -> Iterator[str]:
    """Every non-directory entry under ``root`` as a '/'-joined name relative to it (one level, or all
    levels without following directory symbolic links, so loops end). Hidden folders are entered;
    order unsorted. Names, not Paths: an archive of millions of files is listed before any Path."""
    if not recursive:
        for entry in os.scandir(root):
            try:
                is_dir = entry.is_dir()  # follows links: a link to a folder is a folder
            except OSError:  # e.g. a symbolic link loop: listed, so that it becomes a named skip
                is_dir = False
            if not is_dir:
                yield entry.name
        return
    top = os.fspath(root)
    prefix = top if top.endswith(os.sep) else top + os.sep
    for folder, _dirs, files in os.walk(top, followlinks=False):
        sub = "" if folder == top else folder[len(prefix) :].replace(os.sep, "/") + "/"
        for name in files:  # links to folders are in ``dirs``, listed but never entered
            yield sub + name


def _walk_files(root: Path, recursive: bool) -> Iterator[Path]:
    """The entries of :func:`_walk_names` as paths under ``root``."""
    for name in _walk_names(root, recursive):
        yield root / name


def scan_folder(
    folder: str | os.PathLike[str],
    suffixes: Sequence[str] = IMAGE_SUFFIXES,
    recursive: bool = False,
    verify: bool = True,
) -> ScanResult:
    """List image files in ``folder`` (sorted by name); other files and unreadable images are skipped.

    With ``verify`` each image header is checked, so corrupt files land in ``skipped``. Broken or
    looping symbolic links are skips; ``recursive`` listings do not follow links to folders, and a
    file reached twice (a link to a file already listed) is listed once. Raises UserError if the
    folder does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder; check the path")
    result = ScanResult()
    seen: dict[tuple[int, int], Path] = {}
    try:
        entries = sorted(_walk_files(root, recursive))
    except OSError as exc:
        raise UserError(
            f"{root}: cannot list the folder ({exc.strerror or exc}); check its permissions"
        ) from None
    for p in entries:
        if p.name.startswith("."):
            continue
        if p.suffix.lower() not in suffixes:
            result.skipped.append((p, "not an image file (unknown extension)"))
            continue
        problem = _entry_problem(p)
        if problem is not None:
            result.skipped.append((p, problem))
            continue
        st = p.stat()
        key = (st.st_dev, st.st_ino)
        if key in seen:
            result.skipped.append((p, f"same file as {seen[key]} (a link); listed once"))
            continue
        seen[key] = p
        if verify:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # bombs: our own size check; EXIF noise
                    with Image.open(p) as im:
                        im.verify()
            except Exception as exc:  # Pillow raises many types for bad files
                result.skipped.append((p, f"unreadable image ({type(exc).__name__})"))
                continue
        result.paths.append(p)
    return result


def _part_regex(part: str) -> str:
    """Regex for one path component of a glob: ``*``, ``?``, ``[...]``; never across '/'."""
    out = [] if part.startswith(".") else [r"(?!\.)"]  # as glob: wildcards skip hidden names
    i = 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (j := part.find("]", i + 2)) != -1:
            body = part[i + 1 : j]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            body = "".join("\\" + ch if ch in "\\[^&~|" else ch for ch in body)
            out.append("[" + ("^" if neg else "") + body + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _glob_regex(parts: Sequence[str]) -> re.Pattern[str]:
    """One regex for a relative glob split in parts; ``**`` spans any number of folders."""
    out = []
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part == "**":
            out.append(r"(?:(?!\.)[^/]*/)*" if not last else r"(?:(?!\.)[^/]*/)*(?!\.)[^/]*")
        else:
            out.append(_part_regex(part) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while listing: a listing of 200,000 files makes as many
    Path objects (no cycles), and the collections they trigger took 40% of the listing's time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def glob_stats(pattern: str) -> list[tuple[Path, os.stat_result | None]]:
    """Files matching a glob ``pattern`` (``*``, ``?``, ``[...]``, ``**`` for any depth), sorted, each
    with its ``os.stat`` result taken once while listing (None: the name could not be followed, e.g. a
    broken symbolic link), so callers need not stat again.

    Unlike ``glob.glob(recursive=True)`` it never follows a link to a folder, so a folder with a
    symbolic-link loop is listed once and the listing ends. Every matching name is returned, also one
    that is a (hard or symbolic) link to a file listed already: the caller decides (predict scores the
    file once and lists each other name as a skip naming the first), nothing is dropped unsaid.
    """
    parts = Path(pattern).parts
    k = next((i for i, part in enumerate(parts) if any(ch in part for ch in "*?[")), len(parts))
    if k == len(parts):
        p = Path(pattern)
        try:
            st = os.stat(p)
        except OSError:
            return []
        return [(p, st)] if stat.S_ISREG(st.st_mode) else []
    root = Path(*parts[:k]) if k else Path(".")
    if not root.is_dir():
        return []
    rx = _glob_regex(parts[k:])
    deep = len(parts) - k > 1 or "**" in parts[k:]
    # names as strings until they match (an archive of millions: no Path per listed file), sorted in
    # Path order (component by component), so the result is as sorted(Path(...)) would give it
    names = sorted((rel for rel in _walk_names(root, deep) if rx.match(rel)), key=lambda r: r.split("/"))
    out: list[tuple[Path, os.stat_result | None]] = []
    for rel in names:
        p = root / rel
        try:
            st = os.stat(p)
        except OSError:
            out.append((p, None))  # broken link: the caller's reader names it as a skip
            continue
        if stat.S_ISREG(st.st_mode):  # every name, also a link to a file already listed
            out.append((p, st))
    return out


def require_images(scan: ScanResult, folder: str | os.PathLike[str], strict: bool = False) -> list[Path]:
    """Return the images of a scan; raise UserError if there are none, or if ``strict`` and any was skipped."""
    if strict and scan.skipped:
        p, why = scan.skipped[0]
        more = f" (and {len(scan.skipped) - 1} more)" if len(scan.skipped) > 1 else ""
        raise UserError(f"{p}: {why}{more}; remove it, or run without --strict to skip it")
    if not scan.paths:
        raise UserError(f"{folder}: no readable images found; point to a folder of PNG/JPEG files")
    return scan.paths
