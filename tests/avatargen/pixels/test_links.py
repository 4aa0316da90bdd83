"""`avatargen pixels fit` over a folder with broken and looping links (issue 10): listed skips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from avatargen.cli import app


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
