"""Data layouts and fast image loading.

Layouts understood (``root`` is a folder or a CSV file):

- course: ``train/`` (normal), ``proliv/`` (spills), ``test/imgs/`` + ``test/test_annotation.txt``
  (``<file> <0|1>`` per line, 1 = spill);
- folders: ``normal/`` and ``anomalous/``;
- manifest: a CSV file with columns ``path,label`` (paths relative to the CSV; label 0/1 or
  normal/spill).

Files that cannot be used (corrupt, empty, not an image, listed but missing) are returned as a list
of skips ``(path, reason)``; with ``strict`` the first one raises a UserError instead.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from sharedcore.errors import UserError
from sharedcore.images import (
    IMAGE_SUFFIXES,
    convert_mode,
    decode_array,
    gc_paused,
    glob_stats,
    scan_folder,
    unfollowable_link,
)

Skip = tuple[Path, str]
LABEL_WORDS = {"0": 0, "1": 1, "normal": 0, "spill": 1, "anomalous": 1, "anomaly": 1}


@dataclass
class Sources:
    """Image paths with labels (0 normal, 1 spill) and the files passed over."""

    paths: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    layout: str = ""


def check_skips(skipped: Sequence[Skip], strict: bool) -> None:
    """With ``strict``, raise a UserError for the first skipped file."""
    if strict and skipped:
        p, why = skipped[0]
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        raise UserError(f"{p}: {why}{more}; fix or remove it, or run without --strict to skip it")


def report_skips(skipped: Sequence[Skip], listed_in: str | None = "metrics.json") -> None:
    """Print the list of skipped files (the first 50); ``listed_in`` names the file listing them all."""
    # imported here: decoding must stay importable with the runtime extra only (no typer/tqdm; deploy.runtime)
    from sharedcore.console import info

    if skipped:
        info(f"skipped {len(skipped)} file(s):")
        for p, why in skipped[:50]:
            info(f"  {p}: {why}")
        if len(skipped) > 50:
            where = f" (all listed in {listed_in})" if listed_in else ""
            info(f"  ... and {len(skipped) - 50} more{where}")


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> tuple[list[Path], list[Skip]]:
    """Image files in ``folder`` sorted by name, and other files as skips. UserError if missing."""
    scan = scan_folder(folder, IMAGE_SUFFIXES, recursive=recursive, verify=False)
    return scan.paths, scan.skipped


class _Labels:
    """Collects (path, label) pairs of a label file: a file listed again with the same label is
    counted once (the repeat is a skip saying so); with the other label it is a UserError."""

    def __init__(self, out: Sources, source: Path) -> None:
        self.out, self.source = out, source
        self.seen: dict[Path, tuple[int, str]] = {}

    def add(self, p: Path, label: int, where: str) -> None:
        key = Path(os.path.normpath(p.absolute()))
        if key in self.seen:
            first_label, first_where = self.seen[key]
            if first_label != label:
                raise UserError(
                    f"{self.source}: {where}: {p.name} is labelled {label}, but {first_where} labels it "
                    f"{first_label}; keep one label per file"
                )
            self.out.skipped.append(
                (p, f"listed again in {self.source.name} {where}; counted once ({first_where})")
            )
            return
        self.seen[key] = (label, where)
        if not p.is_file():
            self.out.skipped.append((p, f"listed in {self.source.name} {where} but missing"))
            return
        self.out.paths.append(p)
        self.out.labels.append(label)


def read_annotation(path: str | os.PathLike[str], image_dir: str | os.PathLike[str]) -> Sources:
    """Parse ``<file> <0|1>`` lines; files missing from ``image_dir`` become skips, a file listed
    twice with the same label is counted once (the repeat is a skip), with both labels a UserError."""
    ann, imgs = Path(path), Path(image_dir)
    out = Sources(layout="course")
    try:
        lines = ann.read_text(encoding="utf-8-sig").splitlines()  # a BOM is not part of the first name
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{ann}: cannot read the annotation file ({exc}); check the file") from None
    labels = _Labels(out, ann)
    for no, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1"):
            raise UserError(
                f"{ann}: line {no}: '{line.strip()[:80]}' is not '<file> <0|1>'; fix the line (1 = spill, 0 = normal)"
            )
        labels.add(imgs / parts[0], int(parts[1]), f"line {no}")
    return out


def read_manifest(path: str | os.PathLike[str]) -> Sources:
    """Parse a CSV manifest with columns ``path,label``; paths are relative to the CSV's folder.
    Repeats as in :func:`read_annotation`."""
    csv_path = Path(path)
    out = Sources(layout="manifest")
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:  # Excel's BOM is not in 'path'
            reader = csv.DictReader(fh)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            if "path" not in cols or "label" not in cols:
                raise UserError(
                    f"{csv_path}: header {cols} lacks column 'path' and/or 'label'; the first line must be 'path,label'"
                )
            labels = _Labels(out, csv_path)
            for row_no, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
                label = LABEL_WORDS.get(row["label"].lower())
                if label is None:
                    raise UserError(
                        f"{csv_path}: row {row_no}, column 'label': value '{row['label'][:40]}' is not 0/1/normal/spill; fix it"
                    )
                if not row["path"]:
                    raise UserError(f"{csv_path}: row {row_no}, column 'path': empty; name an image file")
                p = Path(row["path"])
                labels.add(p if p.is_absolute() else csv_path.parent / p, label, f"row {row_no}")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{csv_path}: cannot read the CSV manifest ({exc}); check the file") from None
    return out


def input_folders(src: Sources) -> list[Path]:
    """The folders holding the files of ``src`` (and skipped ones): an output must not replace them."""
    return sorted({p.parent for p in src.paths} | {p.parent for p, _ in src.skipped})


def _folder_sources(folders: Sequence[tuple[Path, int]], layout: str) -> Sources:
    out = Sources(layout=layout)
    for folder, label in folders:
        paths, skipped = list_images(folder)
        out.paths += paths
        out.labels += [label] * len(paths)
        out.skipped += skipped
    return out


LAYOUT_HELP = (
    "expected a course layout (train/, proliv/, test/imgs/ + test/test_annotation.txt), "
    "normal/ + anomalous/ folders, or a CSV manifest with columns path,label"
)


def training_sources(root: str | os.PathLike[str]) -> Sources:
    """Normal images (label 0) and known spills (label 1, may be none) to train and calibrate on."""
    r = Path(root)
    if r.is_file() and r.suffix.lower() == ".csv":
        return read_manifest(r)
    if not r.is_dir():
        raise UserError(f"{r}: no such folder or CSV manifest; check the path")
    if (r / "train").is_dir():
        folders = [(r / "train", 0)] + ([(r / "proliv", 1)] if (r / "proliv").is_dir() else [])
        return _folder_sources(folders, "course")
    if (r / "normal").is_dir():
        folders = [(r / "normal", 0)] + ([(r / "anomalous", 1)] if (r / "anomalous").is_dir() else [])
        return _folder_sources(folders, "folders")
    raise UserError(f"{r}: no training images found; {LAYOUT_HELP}")


def labelled_sources(root: str | os.PathLike[str]) -> Sources:
    """Labelled test images: course ``test/`` (or the test folder itself), folders, or a manifest."""
    r = Path(root)
    if r.is_file() and r.suffix.lower() == ".csv":
        return read_manifest(r)
    if not r.is_dir():
        raise UserError(f"{r}: no such folder or CSV manifest; check the path")
    for base in (r / "test", r):
        if (base / "test_annotation.txt").is_file():
            imgs = base / "imgs" if (base / "imgs").is_dir() else base
            return read_annotation(base / "test_annotation.txt", imgs)
    if (r / "normal").is_dir() or (r / "anomalous").is_dir():
        folders = [(r / name, y) for name, y in (("normal", 0), ("anomalous", 1)) if (r / name).is_dir()]
        return _folder_sources(folders, "folders")
    raise UserError(f"{r}: no labelled test images found; {LAYOUT_HELP}")


def resize_to_input(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """A decoded Pillow image -> (H, W, 3) uint8 RGB at ``size`` = (height, width), bilinear.

    The one resizing step of every runtime (torch, ONNX, service, cluster): scoring graphs start
    after it, at the model's input size.
    """
    h, w = size
    if im.mode != "RGB":
        im = convert_mode(im, "RGB")
    if im.size != (w, h):
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def decode_image(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """Encoded image bytes (JPEG/PNG/...) -> (H, W, 3) uint8 at ``size``; UserError naming the reason."""
    return decode_array(data, (size[1], size[0]), "RGB")  # declared size checked, draft/reduce when large


def _decode(path: Path, size: tuple[int, int]) -> np.ndarray | str:
    """Decode one image file to a (H, W, 3) uint8 array of ``size`` = (height, width), or a skip reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    try:
        return decode_image(data, size)
    except UserError as exc:
        return str(exc)


def load_images(
    paths: Sequence[str | os.PathLike[str]], size: tuple[int, int], workers: int | None = None
) -> tuple[np.ndarray, np.ndarray, list[Skip]]:
    """Decode images into a uint8 array (N, height, width, 3), resized to ``size`` = (height, width).

    Returns the array of the readable images, the indices (into ``paths``) they came from, and the
    skips. Greyscale, palette, RGBA (composited on black) and CMYK inputs are converted to RGB.
    One worker by default: a second decoding thread gained nothing on 2 shared cores (bench_spill.py).
    """
    ps = [Path(p) for p in paths]
    out = np.empty((len(ps), size[0], size[1], 3), dtype=np.uint8)
    ok = np.zeros(len(ps), dtype=bool)
    skipped: list[Skip] = []
    n_workers = workers or 1

    def work(lo: int, hi: int) -> list[tuple[int, str]]:
        bad = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. Pillow's DecompressionBombWarning, EXIF warnings
            for i in range(lo, hi):
                res = _decode(ps[i], size)
                if isinstance(res, str):
                    bad.append((i, res))
                else:
                    out[i] = res
                    ok[i] = True
        return bad

    chunk = 256
    spans = [(lo, min(lo + chunk, len(ps))) for lo in range(0, len(ps), chunk)]
    if n_workers > 1 and len(spans) > 1:
        with ThreadPoolExecutor(n_workers) as ex:
            results = list(ex.map(lambda s: work(*s), spans))
    else:
        results = [work(*s) for s in spans]
    for bad in results:
        skipped += [(ps[i], why) for i, why in bad]
    idx = np.flatnonzero(ok)
    return out[idx] if len(idx) < len(ps) else out, idx, skipped


@dataclass
class ImageSet:
    """Decoded images (N, H, W, 3) uint8 with labels (N,) and their paths; skips listed."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[Path]
    skipped: list[Skip]


def load_sources(src: Sources, size: tuple[int, int], strict: bool = False, what: str = "") -> ImageSet:
    """Decode every image of ``src``; raise UserError when none is readable (or any skip, if strict)."""
    check_skips(src.skipped, strict)
    images, idx, skipped = load_images(src.paths, size)
    skipped = src.skipped + skipped
    check_skips(skipped, strict)
    if len(idx) == 0:
        raise UserError(f"{what or 'input'}: no readable images found; point to a folder of JPEG/PNG files")
    labels = np.asarray(src.labels, dtype=np.int64)[idx]
    return ImageSet(images, labels, [src.paths[i] for i in idx], skipped)


def expand_inputs(items: Sequence[str]) -> tuple[list[Path], list[Skip]]:
    """Turn CLI arguments (files, folders, glob patterns) into image paths and skips."""
    with gc_paused():
        return _expand(items)


def _expand(items: Sequence[str]) -> tuple[list[Path], list[Skip]]:
    listed: list[tuple[Path, os.stat_result | None]] = []  # stat result when the listing took it
    skipped: list[Skip] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found, skips = list_images(p)
            listed += [(f, None) for f in found]
            skipped += skips
        elif p.is_file():
            listed.append((p, None))
        elif any(ch in item for ch in "*?["):
            matches = glob_stats(item)  # never follows folder links (loops end); links to one file: _once
            if not matches:
                raise UserError(f"{item}: the pattern matches no file; check it")
            for m, st in matches:  # a broken or looping link is a skip with its reason, not silently dropped
                if st is not None:  # a regular file (a glob lists no other kind)
                    listed.append((m, st))
                elif (link := unfollowable_link(m)) is not None:
                    skipped.append((m, f"{link}; fix or remove the link"))
        else:
            raise UserError(f"{item}: no such file or folder; check the path")
    return _once(listed, skipped)


def _once(
    listed: list[tuple[Path, os.stat_result | None]], skipped: list[Skip]
) -> tuple[list[Path], list[Skip]]:
    """Each file scored once: a file named again (by another argument, or a link to it) is a skip."""
    seen: dict[tuple[int, int], Path] = {}
    out: list[Path] = []
    for p, st in listed:
        if st is None:
            try:
                st = p.stat()
            except OSError:  # vanished since it was listed: the loader names it
                out.append(p)
                continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            skipped.append((p, f"same file as {seen[key]} (listed again); scored once"))
            continue
        seen[key] = p
        out.append(p)
    return out, skipped
