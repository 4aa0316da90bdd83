"""`avatargen avatars draw | render | mapping` through the CLI: options, one-line errors, files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from avatargen.cli import app
from avatargen.render import gallery
from sharedcore.errors import UserError

from .conftest import StubStyleModel


def test_cli_draw(tmp_path: Path, english_model: StubStyleModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gallery, "load_style_model", lambda path: english_model)
    out = tmp_path / "cli"
    args = ["avatars", "draw", str(tmp_path / "model.json"), "-n", "4", "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--given", "clothes=hoodie", "--size", "1x", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "grid.png" in res.output
    table = pd.read_csv(out / "styles.csv")
    assert len(table) == 4 and (table["clothes"] == "hoodie").all()
    with Image.open(out / "avatar_4.png") as im:
        assert im.size == (264, 280)
    res = CliRunner().invoke(app, [*args, "--size", "1x"])
    assert res.exit_code != 0 and isinstance(res.exception, UserError)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["clothes=hoodie", "clothes=shirt_v_neck"], "--given: attribute 'clothes' is given twice"),
        (
            ["clothes=hoodie", "CLOTHES=hoodie"],
            "attribute 'clothes' is given twice (names are compared case-blind)",
        ),
    ],
)
def test_cli_draw_repeated_given_is_an_error(
    given: list[str],
    message: str,
    tmp_path: Path,
    english_model: StubStyleModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gallery, "load_style_model", lambda path: english_model)
    out = tmp_path / "cli"
    args = ["avatars", "draw", str(tmp_path / "model.json"), "-n", "2", "-o", str(out)]
    res = CliRunner().invoke(app, [*args, *(x for g in given for x in ("--given", g))])
    assert isinstance(res.exception, UserError) and message in str(res.exception)
    assert "\n" not in str(res.exception) and not out.exists()


def test_cli_bad_size_is_one_line_exit_2(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "avatargen",
            "avatars",
            "draw",
            "m.json",
            "-o",
            str(tmp_path / "o"),
            "--size",
            "huge",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "--size 'huge'" in res.stderr


def test_cli_render_one_style(tmp_path: Path) -> None:
    png, svg = tmp_path / "one.png", tmp_path / "one.svg"
    args = ["avatars", "render", "прическа=длинные в пучок", "цвет одежды=красный"]
    res = CliRunner().invoke(app, [*args, "-o", str(png), "--size", "1x"])
    assert res.exit_code == 0, res.output
    with Image.open(png) as im:
        assert im.size == (264, 280)
        assert im.convert("RGBA").getpixel((132, 270)) == (0xFF, 0x5C, 0x5C, 255)  # red clothes
    assert CliRunner().invoke(app, [*args, "-o", str(svg)]).exit_code == 0
    assert svg.read_text(encoding="utf-8").startswith("<svg")
    res = CliRunner().invoke(app, [*args, "-o", str(png)])
    assert isinstance(res.exception, UserError) and "--force" in str(res.exception)


def test_cli_mapping_lists_values_and_defaults(
    tmp_path: Path, course_model: StubStyleModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery, "load_style_model", lambda path: course_model)
    res = CliRunner().invoke(app, ["avatars", "mapping", "course_ru", "--model", "m.json"])
    assert res.exit_code == 0, res.output
    assert "every attribute value is mapped" in res.output
    assert "одежда: комбинезон -> clothing=overall" in res.output
    assert "Not in the data, drawn as:" in res.output and "mouth smile" in res.output
    res = CliRunner().invoke(app, ["avatars", "mapping", "english", "--model", "m.json"])
    assert isinstance(res.exception, UserError) and "is not in this mapping" in str(res.exception)


def test_cli_draw_with_real_style_model(tmp_path: Path) -> None:
    """End to end with the real StyleModel: fit on a small English table, save, draw with --given."""
    model_mod = pytest.importorskip(
        "avatargen.styles.model",
        reason="StyleModel (issue 3, branch styles) is not merged into this branch yet",
    )
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "hairstyle": rng.choice(["bun", "short_flat", "none"], 60),
            "hair_color": rng.choice(["black", "red"], 60),
            "clothes": rng.choice(["hoodie", "overall", "shirt_v_neck"], 60),
            "clothes_color": rng.choice(["red", "white", "blue_02"], 60),
        }
    )
    model = model_mod.StyleModel(alpha=1.0).fit(table)
    model.save(tmp_path / "model.json")
    out = tmp_path / "drawn"
    args = ["avatars", "draw", str(tmp_path / "model.json"), "-n", "6", "-o", str(out), "--size", "0.5x"]
    res = CliRunner().invoke(app, [*args, "--given", "clothes_color=red", "--seed", "2"])
    assert res.exit_code == 0, res.output
    drawn = pd.read_csv(out / "styles.csv", keep_default_na=False)
    assert len(drawn) == 6 and (drawn["clothes_color"] == "red").all()
    for _, row in drawn.iterrows():
        style = {a: row[a] for a in table.columns}
        assert row["probability"] == pytest.approx(model.probability(style))
        with Image.open(out / row["png"]) as im:
            assert im.size == (132, 140)
            assert im.convert("RGBA").getpixel((66, 136))[:3] == (0xFF, 0x5C, 0x5C)  # red clothes


def test_cli_mapping_without_name_lists_builtins() -> None:
    res = CliRunner().invoke(app, ["avatars", "mapping"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("english: ") and "\ncourse_ru: " in res.output and "прическа" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "10001"], "-n: 10001 is out of range; use an integer from 1 to 10000"),
        (["-n", "0"], "-n: 0 is out of range"),
        (["--columns", "0"], "--columns: 0 is out of range; use an integer >= 1"),
        (["--columns", "-1"], "--columns: -1 is out of range"),
    ],
    ids=["n-over-10000", "n-0", "columns-0", "columns-negative"],
)
def test_cli_draw_limits(
    tmp_path: Path,
    english_model: StubStyleModel,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    # -n's upper limit (DRAW_MAX = 10,000) is refused before any sampling; --columns 0 was accepted
    monkeypatch.setattr(gallery, "load_style_model", lambda path: english_model)
    out = tmp_path / "g"
    res = CliRunner().invoke(app, ["avatars", "draw", "m.json", "-o", str(out), *args])
    assert isinstance(res.exception, UserError) and message in str(res.exception)
    assert not out.exists()


def test_cli_draw_never_replaces_the_model_folder(
    tmp_path: Path, english_model: StubStyleModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the hunt: `avatars draw x/m.json -o x --force` replaced the folder holding the model
    monkeypatch.setattr(gallery, "load_style_model", lambda path: english_model)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "m.json").write_text("{}", encoding="utf-8")
    res = CliRunner().invoke(
        app,
        ["avatars", "draw", str(tmp_path / "x" / "m.json"), "-o", str(tmp_path / "x"), "--force", "-n", "1"],
    )
    assert isinstance(res.exception, UserError) and "holds the input" in str(res.exception)
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["m.json"]
