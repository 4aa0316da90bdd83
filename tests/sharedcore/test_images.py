from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sharedcore.errors import UserError
from sharedcore.images import load_array, require_images, scan_folder


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
