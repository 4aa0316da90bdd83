"""Layouts and bad input: every unusable file is a listed skip, or an error with --strict."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sharedcore.errors import UserError
from spillguard.data import (
    expand_inputs,
    labelled_sources,
    load_images,
    load_sources,
    read_manifest,
    training_sources,
)


def _jpg(
    path: Path, colour: tuple[int, int, int] = (100, 140, 110), size: tuple[int, int] = (49, 28)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format="JPEG")
    return path


@pytest.fixture()
def messy(tmp_path: Path) -> Path:
    """A course layout with one of each bad file beside good ones."""
    root = tmp_path / "data"
    for i in range(4):
        _jpg(root / "train" / f"ok{i}.jpg")
    (root / "train" / "zero.jpg").write_bytes(b"")
    (root / "train" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = (root / "train" / "ok0.jpg").read_bytes()
    (root / "train" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "train" / "notes.txt").write_text("hello")
    Image.new("L", (49, 28), 120).save(root / "train" / "grey.png")
    Image.new("RGBA", (49, 28), (200, 100, 50, 0)).save(root / "train" / "rgba.png")
    Image.new("CMYK", (49, 28), (10, 20, 30, 40)).save(root / "train" / "cmyk.jpg")
    _jpg(root / "proliv" / "s0.jpg", (250, 250, 200))
    _jpg(root / "test" / "imgs" / "a.jpg")
    _jpg(root / "test" / "imgs" / "b.jpg", (250, 250, 200))
    (root / "test" / "test_annotation.txt").write_text("a.jpg 0\nb.jpg 1\nmissing.jpg 0\n\n")
    return root


def test_skips_are_listed_and_modes_converted(messy: Path) -> None:
    ds = load_sources(training_sources(messy), (32, 48))
    reasons = {p.name: why for p, why in ds.skipped}
    assert set(reasons) == {"zero.jpg", "corrupt.jpg", "truncated.jpg", "notes.txt"}
    assert "empty" in reasons["zero.jpg"] and "not an image" in reasons["notes.txt"]
    names = [p.name for p in ds.paths]
    assert {"grey.png", "rgba.png", "cmyk.jpg"} <= set(names)
    assert ds.images.shape == (8, 32, 48, 3) and ds.images.dtype == np.uint8
    grey = ds.images[names.index("grey.png")]
    assert np.all(grey == 120)  # greyscale -> equal RGB channels
    assert np.all(ds.images[names.index("rgba.png")] == 0)  # fully transparent -> composited on black
    assert list(ds.labels) == [0] * 7 + [1]


def test_strict_turns_skips_into_errors(messy: Path) -> None:
    with pytest.raises(UserError, match=r"--strict"):
        load_sources(training_sources(messy), (32, 48), strict=True)


def test_annotation_missing_file_is_a_skip(messy: Path) -> None:
    src = labelled_sources(messy)
    assert [p.name for p in src.paths] == ["a.jpg", "b.jpg"] and src.labels == [0, 1]
    assert src.skipped[0][0].name == "missing.jpg" and "line 3" in src.skipped[0][1]
    with pytest.raises(UserError, match=r"missing\.jpg"):
        load_sources(src, (32, 48), strict=True)
    assert labelled_sources(messy / "test").paths == src.paths  # the test folder itself works too


def test_bad_annotation_line_names_the_line(messy: Path) -> None:
    (messy / "test" / "test_annotation.txt").write_text("a.jpg 0\nb.jpg spill\n")
    with pytest.raises(UserError, match=r"line 2: 'b.jpg spill'"):
        labelled_sources(messy)


def test_empty_folder_and_unknown_layout(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(UserError, match="no readable images"):
        load_sources(training_sources(tmp_path), (32, 48))
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(UserError, match="expected a course layout"):
        training_sources(other)
    with pytest.raises(UserError, match="no such folder"):
        training_sources(tmp_path / "nope")


def test_generic_folders_and_manifest(tmp_path: Path) -> None:
    _jpg(tmp_path / "normal" / "n.jpg")
    _jpg(tmp_path / "anomalous" / "s.jpg", (250, 250, 200))
    src = training_sources(tmp_path)
    assert src.layout == "folders" and src.labels == [0, 1]
    assert labelled_sources(tmp_path).labels == [0, 1]
    (tmp_path / "m.csv").write_text("path,label\nnormal/n.jpg,0\nanomalous/s.jpg,spill\nnormal/gone.jpg,0\n")
    man = read_manifest(tmp_path / "m.csv")
    assert man.labels == [0, 1] and man.skipped[0][0].name == "gone.jpg"
    (tmp_path / "bad.csv").write_text("path,label\nnormal/n.jpg,maybe\n")
    with pytest.raises(UserError, match=r"row 2, column 'label': value 'maybe'"):
        read_manifest(tmp_path / "bad.csv")
    (tmp_path / "nohead.csv").write_text("file,y\nnormal/n.jpg,0\n")
    with pytest.raises(UserError, match="column 'path'"):
        read_manifest(tmp_path / "nohead.csv")


def test_resize_and_expand_inputs(tmp_path: Path) -> None:
    p = _jpg(tmp_path / "big.jpg", size=(400, 230))  # big enough for the JPEG draft path
    imgs, idx, skipped = load_images([p], (32, 48))
    assert imgs.shape == (1, 32, 48, 3) and list(idx) == [0] and not skipped
    assert np.abs(imgs.astype(int) - [100, 140, 110]).max() <= 3
    shutil.copy(p, tmp_path / "b.jpg")
    paths, _ = expand_inputs([str(tmp_path / "*.jpg")])
    assert [q.name for q in paths] == ["b.jpg", "big.jpg"]
    assert len(expand_inputs([str(tmp_path)])[0]) == 2
    with pytest.raises(UserError, match="matches no file"):
        expand_inputs([str(tmp_path / "*.png")])
    with pytest.raises(UserError, match="no such file"):
        expand_inputs([str(tmp_path / "nope.jpg")])


def test_a_file_named_twice_is_scored_once(tmp_path: Path) -> None:
    """Found by research/spillguard_sweep.py: ``predict RUN x.jpg x.jpg DIR`` scored x.jpg three
    times (three CSV rows for one file); a hard link is the same file too."""
    (tmp_path / "x.jpg").write_bytes(b"x")
    os.link(tmp_path / "x.jpg", tmp_path / "y.jpg")
    paths, skipped = expand_inputs([str(tmp_path / "x.jpg"), str(tmp_path / "x.jpg"), str(tmp_path)])
    assert paths == [tmp_path / "x.jpg"]
    again = f"same file as {tmp_path / 'x.jpg'} (listed again); scored once"
    assert sorted((p.name, why) for p, why in skipped) == [
        ("x.jpg", again),
        ("x.jpg", again),
        ("y.jpg", f"same file as {tmp_path / 'x.jpg'} (a link); listed once"),  # the folder's own listing
    ]


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_every_name_a_glob_matches_is_a_row_or_a_counted_skip(tmp_path: Path, link: str) -> None:
    """Issue 21: 24,000 paths that were hard links of 3,000 files gave 3,000 CSV rows and no word of
    the rest. Each name a glob (or folder) lists ends as scored or as a skip naming the first."""
    for i in range(3):
        (tmp_path / f"f{i}.jpg").write_bytes(b"x")
        for k in range(4):
            dst = tmp_path / "links" / f"f{i}-{k}.jpg"
            dst.parent.mkdir(exist_ok=True)
            if link == "hard":
                os.link(tmp_path / f"f{i}.jpg", dst)
            else:
                dst.symlink_to(tmp_path / f"f{i}.jpg")
    for items in ([str(tmp_path / "**" / "*.jpg")], [str(tmp_path / "*.jpg"), str(tmp_path / "links" / "*")]):
        paths, skipped = expand_inputs(items)
        assert len(paths) == 3 and len(paths) + len(skipped) == 15
        first = {p.name[:2]: p for p in paths}
        for p, why in skipped:
            assert why == f"same file as {first[p.name[:2]]} (listed again); scored once"
