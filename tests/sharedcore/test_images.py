from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sharedcore import images
from sharedcore.errors import UserError
from sharedcore.images import decode_array, glob_stats, load_array, require_images, scan_folder


def _glob_files(pattern: str) -> list[Path]:
    return [p for p, _ in glob_stats(pattern)]


def _save(path: Path, mode: str, color: object) -> Path:
    Image.new(mode, (8, 6), color).save(path)
    return path


def test_modes_are_converted(tmp_path: Path) -> None:
    grey = load_array(_save(tmp_path / "g.png", "L", 128), "RGB")
    assert grey.shape == (6, 8, 3) and (grey == 128).all()
    rgba = load_array(_save(tmp_path / "a.png", "RGBA", (200, 100, 50, 0)), "RGB")
    assert (rgba == 0).all()  # fully transparent composites onto black
    cmyk = load_array(_save(tmp_path / "c.jpg", "CMYK", (0, 0, 0, 0)), "RGB")
    assert cmyk.shape == (6, 8, 3) and cmyk.min() > 240
    resized = load_array(tmp_path / "g.png", "RGB", size=(4, 3))
    assert resized.shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"not an image at all", "not an image"),
        (b"\x89PNG\r\n\x1a\nxx", "corrupt|not an image"),
    ],
)
def test_bad_files_raise_user_error(tmp_path: Path, content: bytes, match: str) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(UserError, match=match) as exc:
        load_array(p)
    assert str(p) in str(exc.value)


def test_scan_lists_skips(tmp_path: Path) -> None:
    _save(tmp_path / "ok.png", "RGB", (1, 2, 3))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    scan = scan_folder(tmp_path)
    assert [p.name for p in scan.paths] == ["ok.png"]
    assert sorted(p.name for p, _ in scan.skipped) == ["broken.jpg", "notes.txt", "zero.jpg"]
    assert require_images(scan, tmp_path) == scan.paths
    with pytest.raises(UserError, match="--strict"):
        require_images(scan, tmp_path, strict=True)


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no readable images"):
        require_images(scan_folder(tmp_path), tmp_path)


# --- links: a skip with its reason, never a crash; recursive listings end (issue 10: images) -------


def _linked_tree(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    _save(root / "a.png", "RGB", (1, 2, 3))
    _save(root / "sub" / "b.png", "RGB", (4, 5, 6))
    (root / "dangling.png").symlink_to(root / "missing.png")
    (root / "loop1.png").symlink_to(root / "loop2.png")
    (root / "loop2.png").symlink_to(root / "loop1.png")
    (root / "same.png").symlink_to(root / "a.png")  # the same real file under a second name
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # a folder-link loop
    (root / "sub" / "self").symlink_to(root / "sub", target_is_directory=True)
    return root


def test_scan_lists_broken_and_looping_links_as_skips(tmp_path: Path) -> None:
    root = _linked_tree(tmp_path)
    for recursive in (False, True):
        scan = scan_folder(root, recursive=recursive)
        want = ["a.png", "sub/b.png"] if recursive else ["a.png"]
        assert [p.relative_to(root).as_posix() for p in scan.paths] == want
        why = {p.name: reason for p, reason in scan.skipped}
        assert why["dangling.png"] == "broken symbolic link (its target is missing)"
        assert why["loop1.png"] == why["loop2.png"] == "symbolic link loop"
        assert why["same.png"].startswith(f"same file as {root / 'a.png'}")
        assert len(scan.skipped) == 4  # folder links are neither entered nor listed


def test_open_names_broken_and_looping_links(tmp_path: Path) -> None:
    root = _linked_tree(tmp_path)
    with pytest.raises(UserError, match=r"dangling\.png: broken symbolic link"):
        load_array(root / "dangling.png")
    with pytest.raises(UserError, match=r"loop1\.png: symbolic link loop"):
        load_array(root / "loop1.png")


def test_glob_ends_on_folder_link_loops_and_lists_each_file_once(tmp_path: Path) -> None:
    root = _linked_tree(tmp_path)
    found = _glob_files(str(root / "**" / "*.png"))
    names = [p.relative_to(root).as_posix() for p in found]
    # every name, also same.png (a link to a.png: the caller lists it as a skip); broken links are
    # returned for the reader to name
    assert names == ["a.png", "dangling.png", "loop1.png", "loop2.png", "same.png", "sub/b.png"]
    assert _glob_files(str(root / "*.jpg")) == []
    assert _glob_files(str(root / "a.png")) == [root / "a.png"]


# --- large images: the declared size first, then a cheap reduced decode ---------------------------


def test_declared_size_is_checked_before_decoding(tmp_path: Path) -> None:
    p = _save(tmp_path / "big.png", "RGB", (9, 9, 9))  # 8x6 = 48 pixels
    with pytest.raises(UserError, match=r"big.png: declared size 8x6 = 48 pixels is over the limit of 40"):
        load_array(p, max_pixels=40)
    with pytest.raises(UserError, match=r"^declared size 8x6 = 48 pixels is over the limit of 40"):
        decode_array(p.read_bytes(), (4, 3), max_pixels=40)
    assert load_array(p, max_pixels=48).shape == (6, 8, 3)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_band_reduce_equals_whole_reduce(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (203, 157, 4), dtype=np.uint8)
    im = Image.fromarray(arr, "RGBA").convert(mode) if mode != "P" else Image.fromarray(arr[..., 0], "L")
    monkeypatch.setattr(images, "_BAND_BYTES", 3000)  # many bands, the last one partial
    for factor in (2, 3, 7):
        np.testing.assert_array_equal(
            np.asarray(images._reduce_in_bands(im, factor)), np.asarray(im.reduce(factor))
        )


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGBA"), ("PNG", "RGB"), ("JPEG", "RGB"), ("PNG", "P")])
def test_large_images_decode_reduced_and_close_to_full(tmp_path: Path, fmt: str, mode: str) -> None:
    yy, xx = np.mgrid[0:1200, 0:1600]
    arr = np.stack([xx % 256, yy % 256, (xx + yy) % 256, 255 - (xx % 200)], -1).astype(np.uint8)
    im = Image.fromarray(arr, "RGBA")
    im = im.convert(mode) if mode != "P" else im.convert("RGB").quantize(64)
    p = tmp_path / f"big.{fmt.lower()}"
    im.save(p, fmt)
    reduced = images.open_image(p, "RGBA", reduce_to=(160, 120))
    assert 160 <= reduced.size[0] < 320 and 120 <= reduced.size[1] < 240  # never below the target
    small = load_array(p, "RGB", size=(160, 120))
    with Image.open(p) as full_im:
        full = np.asarray(
            images.convert_mode(full_im.convert("RGBA"), "RGB").resize((160, 120), Image.Resampling.BILINEAR)
        )
    assert small.shape == (120, 160, 3)
    assert np.abs(small.astype(int) - full.astype(int)).mean() < 12  # same picture, cheaper path


# --- property tests: a UserError or a valid array, never anything else (issue 10) ---------------


def _valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    out = {}
    for fmt, mode in [
        ("PNG", "RGBA"),
        ("PNG", "P"),
        ("JPEG", "RGB"),
        ("GIF", "P"),
        ("BMP", "RGB"),
        ("WEBP", "RGB"),
        ("TIFF", "RGB"),
    ]:
        arr = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
        im = Image.fromarray(arr, "RGB")
        im = im.convert(mode) if mode != "P" else im.quantize(16)
        buf = io.BytesIO()
        im.save(buf, fmt)
        out[fmt + mode] = buf.getvalue()
    return out


VALID = _valid_files()


def _check_outcome(call: Callable[[], np.ndarray], shape: tuple[int, ...]) -> None:
    try:
        arr = call()
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert arr.dtype == np.uint8 and arr.shape == shape


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(VALID)), st.data())
def test_truncated_and_flipped_files_property(tmp_path: Path, key: str, data: st.DataObject) -> None:
    raw = VALID[key]
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), max_size=4))
    blob = bytearray(raw[:cut])
    for pos, val in flips:
        if pos < len(blob):
            blob[pos] = val
    p = tmp_path / f"x.{key[:4].lower()}"
    p.write_bytes(bytes(blob))
    _check_outcome(lambda: decode_array(bytes(blob), (16, 12)), (12, 16, 3))
    _check_outcome(lambda: load_array(p, "RGBA", size=(16, 12)), (12, 16, 4))
    _check_outcome(lambda: load_array(p, "L"), (23, 31))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.sampled_from(sorted(VALID))
        .map(lambda k: VALID[k][:16])
        .flatmap(lambda head: st.binary(max_size=300).map(lambda tail: head + tail)),
    )
)
def test_random_bytes_property(tmp_path: Path, blob: bytes) -> None:
    p = tmp_path / "r.png"
    p.write_bytes(blob)
    _check_outcome(lambda: decode_array(blob, (8, 8)), (8, 8, 3))
    _check_outcome(lambda: load_array(p, "RGB", size=(8, 8)), (8, 8, 3))
    scan = scan_folder(tmp_path)
    assert len(scan.paths) + len(scan.skipped) == 1


def test_the_corpus_files_are_valid() -> None:
    for key, raw in VALID.items():
        assert decode_array(raw, (16, 12)).shape == (12, 16, 3), key


# --- found by research/spillguard_sweep.py (issue 10: images scored unlike what they show) ------


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A camera's JPEG stored sideways with EXIF orientation 6 is what a viewer (and the review
    page's browser) shows turned upright; it used to be scored as stored."""
    upright = np.zeros((40, 60, 3), np.uint8)
    upright[:, :30] = 255  # left half white
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # 60x40 -> 40x60 stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    stored.save(tmp_path / "x.jpg", quality=100, exif=exif)
    a = load_array(tmp_path / "x.jpg", "RGB")
    assert a.shape == (40, 60, 3) and a[:, :25].mean() > 240 and a[:, 35:].mean() < 15
    b = decode_array((tmp_path / "x.jpg").read_bytes(), (30, 20), "RGB")  # the bytes path (service, ONNX)
    assert b.shape == (20, 30, 3) and b[:, :12].mean() > 240 and b[:, 18:].mean() < 15


def _png16(path: Path, arr: np.ndarray) -> None:
    import struct
    import zlib

    h, w = arr.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    """Pillow opens a 16-bit grey PNG as I;16 and its RGB conversion clips every value above 255
    (a normal photo came out all white)."""
    grey = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (8, 1))
    _png16(tmp_path / "g16.png", grey)
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    a = load_array(tmp_path / "g16.png", "RGB")
    assert np.array_equal(a[..., 0], (grey >> 8).astype(np.uint8)) and (a[..., 0] == a[..., 2]).all()
    assert np.array_equal(load_array(tmp_path / "g16.png", "L"), (grey >> 8).astype(np.uint8))


def test_glob_lists_in_path_order_with_one_stat_per_file(tmp_path: Path) -> None:
    import gc
    import os

    from sharedcore.images import gc_paused

    for rel in ["a/b.png", "a-b/c.png", "a/b/c.png", "ab/x.png", "A/z.png", "a/a b.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    os.symlink(tmp_path / "missing.png", tmp_path / "a" / "gone.png")
    found = glob_stats(str(tmp_path / "**" / "*.png"))
    paths = [p for p, _ in found]
    # the order sorted() gives Path objects (component by component: 'a/...' before 'a-b/...')
    assert paths == sorted(paths) and paths[0] == tmp_path / "A" / "z.png"
    assert [p.name for p, st in found if st is None] == ["gone.png"]  # a broken link: no stat result
    assert all(st.st_ino == os.stat(p).st_ino for p, st in found if st is not None)
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
