"""draw_gallery: a gallery folder from a small model, written at once, same seed same bytes, large galleries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from avatargen.render.gallery import draw_gallery
from sharedcore.errors import UserError

from .conftest import StubStyleModel


def test_gallery_folder(tmp_path: Path, course_model: StubStyleModel) -> None:
    out = tmp_path / "g"
    g = draw_gallery(course_model, out, n=5, seed=1, size=(132, 140), given={"ОДЕЖДА": "комбинезон"})
    assert g.mapping.name == "course_ru"
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(
        [f"avatar_{i}.{e}" for i in range(1, 6) for e in ("png", "svg")]
        + ["grid.png", "styles.csv", "report.html"]
    )
    table = pd.read_csv(out / "styles.csv")
    assert list(table.columns) == ["avatar", *course_model.attributes_, "probability", "png", "svg"]
    assert (table["одежда"] == "комбинезон").all()
    assert np.allclose(table["probability"], g.styles["probability"])
    with Image.open(out / "avatar_1.png") as im:
        assert im.size == (132, 140) and im.mode == "RGBA"
    assert (out / "avatar_1.svg").read_text(encoding="utf-8").startswith("<svg")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "grid.png" in report and "course_ru" in report and "skin_color light" in report
    with Image.open(out / "grid.png") as im:
        assert im.width == 4 * (264 + 8) + 8


def test_same_seed_same_bytes(tmp_path: Path, english_model: StubStyleModel) -> None:
    a = draw_gallery(english_model, tmp_path / "a", n=3, seed=7, size=(132, 140))
    b = draw_gallery(english_model, tmp_path / "b", n=3, seed=7, size=(132, 140))
    for name in ("grid.png", "avatar_2.png", "avatar_3.svg", "styles.csv"):
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name


def test_errors_leave_nothing_behind(tmp_path: Path, english_model: StubStyleModel) -> None:
    out = tmp_path / "g"
    with pytest.raises(UserError, match=r"--given 'hair_color=green'.*use one of: black, red"):
        draw_gallery(english_model, out, n=2, given={"hair_color": "green"})
    with pytest.raises(UserError, match=r"no attribute 'hat'"):
        draw_gallery(english_model, out, n=2, given={"hat": "x"})
    with pytest.raises(UserError, match=r"course_ru.yaml: attribute 'hairstyle' is not in this mapping"):
        draw_gallery(english_model, out, n=2, mapping="course_ru")
    mohawk = StubStyleModel({"прическа": {"ирокез": 1.0}})
    with pytest.raises(
        UserError, match=r"course_ru.yaml: attribute 'прическа': value 'ирокез' is not mapped"
    ):
        draw_gallery(mohawk, out, n=2, mapping="course_ru")
    with pytest.raises(UserError, match=r"no built-in mapping fits"):
        draw_gallery(mohawk, out, n=2)
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    with pytest.raises(UserError, match="pass --force"):
        draw_gallery(english_model, out, n=1, size=(66, 70))
    assert (out / "keep.txt").exists()
    draw_gallery(english_model, out, n=1, size=(66, 70), force=True)
    assert not (out / "keep.txt").exists() and (out / "grid.png").exists()


def test_large_gallery_caps_the_grid(
    tmp_path: Path, english_model: StubStyleModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatargen.render import gallery

    monkeypatch.setattr(gallery, "GRID_MAX", 3)
    monkeypatch.setattr(gallery, "CHUNK", 2)
    g = draw_gallery(english_model, tmp_path / "big", n=5, size=(33, 35), columns=3)
    assert len(list(g.folder.glob("avatar_*.png"))) == 5 and len(pd.read_csv(g.folder / "styles.csv")) == 5
    with Image.open(g.folder / "grid.png") as im:
        assert im.width == 3 * (264 + 8) + 8  # one row of 3 avatars
        assert im.height < 2 * 280
