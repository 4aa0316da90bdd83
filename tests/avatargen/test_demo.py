"""`avatargen demo` (what `make demo` runs) on built-in data: every promised output exists."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from avatargen.demo import run_demo
from avatargen.pixels.evaluate import COLUMNS


class _Tables(HTMLParser):
    """The cell texts of every <table> of a page: tables -> rows -> cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


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
    result = run_demo(tmp_path / "out", seed=1, avatars=folder, n_avatars=4, n_generated=2)
    report = result.report
    assert report.is_file()
    assert len(list((tmp_path / "out" / "pixels" / "parts").glob("sample_*.png"))) == 2
    text = report.read_text(encoding="utf-8")
    assert "6 images" in text
    # the pixel figures table (empty before: the report expected a list, figures.json holds a dict)
    header, *rows = html_tables(text)[-1]
    assert header == COLUMNS
    assert [r[0] for r in rows] == ["training images (each vs the rest)", "literal", "joint", "parts"]
    csv = (tmp_path / "out" / "pixels" / "figures.csv").read_text().splitlines()[1:]
    for row, measured, line in zip(rows[1:], result.pixels.rows, csv[1:], strict=True):
        same_as_left = float(row[COLUMNS.index("same_as_left")])
        assert 0 < same_as_left <= 1 and same_as_left == float(f"{measured['same_as_left']:.4g}")
        assert float(row[COLUMNS.index("nearest_distance")]) > 0
        colours = float(row[COLUMNS.index("distinct_colours")])
        assert colours > 1 and colours == float(f"{float(line.split(',')[1]):.4g}")
    # no temporary folder name reaches the user: not in the pages, not in the result's paths
    for page in (tmp_path / "out").rglob("*.html"):
        assert ".tmp" not in page.read_text(encoding="utf-8"), page
    assert ".tmp" not in str(result.styles.report) + str(result.avatars.folder) + str(result.pixels.report)
