"""`spillguard predict` over folders and glob patterns with broken links and folder-link loops
(issue 10): the run ends, each real image is scored once, and no link kills the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from spillguard.cli import app


def _tree(src: Path, root: Path) -> Path:
    imgs = sorted((src / "test" / "imgs").glob("*.jpg"))[:4]
    (root / "sub").mkdir(parents=True)
    for p in imgs[:3]:
        shutil.copy(p, root / p.name)
    shutil.copy(imgs[3], root / "sub" / imgs[3].name)
    (root / "dangling.jpg").symlink_to(root / "missing.jpg")
    (root / "loop1.jpg").symlink_to(root / "loop2.jpg")
    (root / "loop2.jpg").symlink_to(root / "loop1.jpg")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # a folder-link loop
    return root


def _rows(output: str) -> list[str]:
    return [line.split("\t")[0] for line in output.splitlines() if line.count("\t") == 2]


def test_predict_folder_and_recursive_glob_with_links(
    tiny_data: Path, tiny_run: Path, tmp_path: Path
) -> None:
    root = _tree(tiny_data, tmp_path / "imgs")
    res = CliRunner().invoke(app, ["predict", str(tiny_run), str(root)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert len(_rows(res.output)) == 3  # the three real images of the folder itself
    assert "broken symbolic link" in res.output and "symbolic link loop" in res.output

    res = CliRunner().invoke(app, ["predict", str(tiny_run), str(root / "**" / "*.jpg")])
    assert res.exit_code == 0, (res.output, res.exception)
    rows = _rows(res.output)
    assert len(rows) == len(set(rows)) == 4  # each real file once; the loop through sub/up is not followed
