"""`avatargen demo` (what `make demo` runs) on built-in data: every promised output exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from avatargen.demo import run_demo


@pytest.mark.slow
def test_demo_cli_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = subprocess.run(
        [sys.executable, "-m", "avatargen", "--quiet", "demo", "-o", str(out), "--seed", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert f"HTML report: {out / 'report.html'}" in res.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    for ref in ("styles/report.html", "avatars/grid.png", "pixels/montage.png"):
        assert ref in html and (out / ref).is_file()
    generated = sorted((out / "pixels" / "parts").glob("sample_*.png"))
    assert len(generated) == 5  # the write-up's deliverable: 5 generated avatars
    assert Image.open(generated[0]).size == (528, 560)
    assert len(list((out / "avatars").glob("avatar_*.png"))) == 16
    # a second run refuses to overwrite without --force, and leaves the first run intact
    again = subprocess.run(
        [sys.executable, "-m", "avatargen", "demo", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 2 and "--force" in again.stderr and again.stderr.count("\n") == 1
    assert (out / "report.html").read_text(encoding="utf-8") == html


def test_demo_with_own_avatar_folder(tmp_path: Path) -> None:
    from avatargen.render.draw import draw_collection

    folder = tmp_path / "mine"
    folder.mkdir()
    for i, img in enumerate(draw_collection(6, seed=3, size=(132, 140))):
        img.save(folder / f"a{i}.png")
    report = run_demo(tmp_path / "out", seed=1, avatars=folder, n_avatars=4, n_generated=2)
    assert report.is_file()
    assert len(list((tmp_path / "out" / "pixels" / "parts").glob("sample_*.png"))) == 2
    assert "6 images" in report.read_text(encoding="utf-8")
