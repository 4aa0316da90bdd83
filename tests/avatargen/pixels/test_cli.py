from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from avatargen.cli import app
from avatargen.pixels.evaluate import run_evaluation
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, drawn_avatars: np.ndarray) -> Path:
    d = tmp_path_factory.mktemp("avatars")
    for k, img in enumerate(drawn_avatars[:8]):
        Image.fromarray(img, "RGBA").save(d / f"a{k:02d}.png")
    (d / "readme.txt").write_text("not an image")
    return d


def test_fit_sample_roundtrip(folder: Path, tmp_path: Path) -> None:
    r = CliRunner()
    res = r.invoke(app, ["pixels", "fit", str(folder), "-o", str(tmp_path / "m.npz")])
    assert res.exit_code == 0, res.output
    assert "skipped readme.txt" in res.output and "8 images at 264x280" in res.output
    res = r.invoke(
        app,
        ["pixels", "sample", str(tmp_path / "m.npz"), "-n", "3", "-o", str(tmp_path / "s"), "--seed", "1"],
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["avatar_00.png", "avatar_01.png", "avatar_02.png", "grid.png"]
    first = (tmp_path / "s" / "avatar_00.png").read_bytes()
    res = r.invoke(
        app,
        ["pixels", "sample", str(tmp_path / "m.npz"), "-n", "3", "-o", str(tmp_path / "s"), "--seed", "1"],
    )
    assert isinstance(res.exception, UserError) and "not empty" in str(res.exception)
    res = r.invoke(
        app,
        [
            "pixels",
            "sample",
            str(tmp_path / "m.npz"),
            "-n",
            "3",
            "-o",
            str(tmp_path / "s"),
            "--seed",
            "1",
            "--force",
        ],
    )
    assert res.exit_code == 0 and (tmp_path / "s" / "avatar_00.png").read_bytes() == first


@pytest.mark.parametrize("method", ["literal", "joint"])
def test_fit_other_methods_and_sample_from_folder(folder: Path, tmp_path: Path, method: str) -> None:
    r = CliRunner()
    res = r.invoke(
        app,
        ["pixels", "fit", str(folder), "-o", str(tmp_path / "m.npz"), "--method", method, "--alpha", "0.5"],
    )
    assert res.exit_code == 0, res.output
    res = r.invoke(app, ["pixels", "sample", str(tmp_path / "m.npz"), "-n", "2", "-o", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    res = r.invoke(
        app, ["pixels", "sample", str(folder), "-n", "2", "-o", str(tmp_path / "f"), "--size", "132x140"]
    )
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "f" / "avatar_00.png") as im:
        assert im.size == (132, 140) and im.mode == "RGBA"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pixels", "fit", "{empty}", "-o", "{tmp}/m.npz"], "no readable images"),
        (["pixels", "fit", "{folder}", "-o", "{tmp}/m.npz", "--method", "magic"], "--method"),
        (["pixels", "fit", "{folder}", "-o", "{tmp}/m.npz", "--size", "big"], "--size"),
        (["pixels", "sample", "{tmp}/missing.npz", "-o", "{tmp}/s"], "no such model file"),
        (["pixels", "evaluate", "{tmp}/nope", "-o", "{tmp}/e"], "no such folder"),
    ],
)
def test_bad_input_is_a_user_error(folder: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    filled = [a.format(folder=folder, tmp=tmp_path, empty=tmp_path / "empty") for a in args]
    res = CliRunner().invoke(app, filled)
    assert isinstance(res.exception, UserError) and message in str(res.exception)


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "avatargen", "pixels", "fit", str(tmp_path), "-o", str(tmp_path / "m.npz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "no readable images" in res.stderr


def test_run_evaluation_writes_report(drawn_avatars: np.ndarray, tmp_path: Path) -> None:
    html = run_evaluation(list(drawn_avatars[:8]), tmp_path / "ev", seed=0, n_samples=3).report
    out = html.parent
    assert html.name == "report.html" and "montage.png" in html.read_text()
    for name in [
        "montage.png",
        "figures.png",
        "figures.csv",
        "figures.json",
        "parts_grid.png",
        "literal/sample_00.png",
    ]:
        assert (out / name).is_file(), name
    rows = (out / "figures.csv").read_text().splitlines()
    assert rows[0].startswith("method,distinct_colours") and len(rows) == 5
    literal = next(r for r in rows if r.startswith("literal"))
    assert float(literal.split(",")[1]) > 2000  # colour noise


@pytest.mark.parametrize(
    "cmd",
    [
        ["pixels", "sample", "{folder}", "-o", "{folder}", "-n", "2", "-m", "literal", "--force"],
        ["pixels", "evaluate", "{folder}", "-o", "{folder}", "-n", "2", "--force"],
        ["pixels", "evaluate", "{folder}", "-o", "{parent}", "-n", "2", "--force"],
    ],
    ids=["sample-onto-input", "evaluate-onto-input", "evaluate-onto-parent"],
)
def test_output_folder_replacing_the_input_images_is_refused(
    folder: Path, tmp_path: Path, cmd: list[str]
) -> None:
    # the hunt: `pixels sample FOLDER -o FOLDER --force` replaced the user's images with 2 samples
    mine = tmp_path / "p" / "imgs"
    mine.mkdir(parents=True)
    for p in sorted(folder.glob("*.png"))[:3]:
        (mine / p.name).write_bytes(p.read_bytes())
    res = CliRunner().invoke(app, [a.format(folder=mine, parent=mine.parent) for a in cmd])
    assert isinstance(res.exception, UserError) and "which writing the output would destroy" in str(
        res.exception
    )
    assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in folder.glob("*.png"))[:3]


def test_fit_skips_broken_and_looping_links(tmp_path: Path) -> None:
    d = tmp_path / "avatars"
    d.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (28, 24, 4), dtype=np.uint8), "RGBA").save(d / f"a{k}.png")
    (d / "dangling.png").symlink_to(d / "gone.png")
    (d / "loop1.png").symlink_to(d / "loop2.png")
    (d / "loop2.png").symlink_to(d / "loop1.png")
    (d / "self").symlink_to(d, target_is_directory=True)
    res = CliRunner().invoke(app, ["pixels", "fit", str(d), "-o", str(tmp_path / "m.npz")])
    assert res.exit_code == 0, (res.output, res.exception)
    assert "3 images at 24x28" in res.output
    assert "broken symbolic link" in res.output and "symbolic link loop" in res.output
