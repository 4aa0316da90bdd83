from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatargen.pixels.collection import from_images, load_collection
from sharedcore.errors import UserError


def test_mixed_sizes_and_modes_become_rgba_at_common_size(tmp_path: Path) -> None:
    Image.new("RGBA", (20, 24), (10, 20, 30, 128)).save(tmp_path / "a.png")
    Image.new("RGBA", (20, 24), (1, 2, 3, 255)).save(tmp_path / "b.png")
    Image.new("RGB", (10, 12), (200, 100, 50)).save(tmp_path / "c.jpg")
    Image.new("L", (40, 48), 77).save(tmp_path / "d.png")
    pal = Image.new("P", (20, 24), 0)
    pal.putpalette([9, 8, 7] * 256)
    pal.save(tmp_path / "e.gif")
    col = load_collection(tmp_path)
    assert col.images.shape == (5, 24, 20, 4) and col.images.dtype == np.uint8
    assert col.size == (20, 24)
    assert sorted(col.resized) == ["c.jpg", "d.png"]
    by_name = dict(zip(col.names, col.images, strict=True))
    assert tuple(by_name["a.png"][0, 0]) == (10, 20, 30, 128)
    assert tuple(by_name["d.png"][5, 5]) == (77, 77, 77, 255)
    assert tuple(by_name["e.gif"][3, 3]) == (9, 8, 7, 255)
    assert abs(int(by_name["c.jpg"][5, 5, 0]) - 200) <= 3 and by_name["c.jpg"][5, 5, 3] == 255
    forced = load_collection(tmp_path, size=(8, 9))
    assert forced.images.shape == (5, 9, 8, 4) and len(forced.resized) == 5


def test_corrupt_and_non_image_files_are_listed_as_skips(tmp_path: Path) -> None:
    Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(tmp_path / "ok.png")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    good = tmp_path / "ok.png"
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:-20])
    col = load_collection(tmp_path)
    assert col.names == ["ok.png"]
    skipped = {p.name for p, _ in col.skipped}
    assert {"notes.txt", "broken.png"} <= skipped


def test_empty_folder_and_missing_folder_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no readable images"):
        load_collection(tmp_path)
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(UserError, match="no readable images"):
        load_collection(tmp_path)
    with pytest.raises(UserError, match="no such folder"):
        load_collection(tmp_path / "nope")


def test_from_images_and_bad_arrays() -> None:
    col = from_images([np.zeros((6, 5, 3), np.uint8), np.full((6, 5), 9, np.uint8)])
    assert col.images.shape == (2, 6, 5, 4) and (col.images[1, ..., :3] == 9).all()
    with pytest.raises(UserError, match="not an image"):
        from_images([np.zeros((6, 5, 7), np.float32)])
    with pytest.raises(UserError, match="no images"):
        from_images([])
