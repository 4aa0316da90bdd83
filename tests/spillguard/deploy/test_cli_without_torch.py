"""The `spillguard` CLI without torch: `--help` and `predict model.onnx` import no torch and give the
torch backend's CSV; commands that need torch say so in one line (exit 2) instead of a traceback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spillguard.deploy.export import PARITY_RTOL, parity_error

# Runs `python -m spillguard ARGS...` with an import hook that makes any `import torch` fail (as if
# torch were not installed), then reports whether torch was imported after all.
RUNNER = textwrap.dedent(
    """
    import importlib.abc, json, runpy, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "torch":
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, NoTorch())
    sys.argv = ["spillguard", *json.loads(sys.argv[1])]
    try:
        runpy.run_module("spillguard", run_name="__main__")
    finally:
        print(json.dumps({"torch_imported": "torch" in sys.modules}), file=sys.stderr)
    """
)


def run_without_torch(*args: str, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], bool]:
    """(the finished process, whether torch got imported) of the CLI with torch blocked."""
    res = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )
    last = res.stderr.strip().splitlines()[-1]
    return res, bool(json.loads(last)["torch_imported"])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_help_imports_no_torch() -> None:
    res, torch_imported = run_without_torch("--help")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "predict" in res.stdout and "serve" in res.stdout
    assert not torch_imported


def test_predict_onnx_without_torch_gives_the_torch_csv(
    tiny_run: Path, tiny_onnx: Path, tiny_data: Path, tmp_path: Path
) -> None:
    imgs = str(tiny_data / "test" / "imgs")
    out = tmp_path / "onnx.csv"
    res, torch_imported = run_without_torch("predict", str(tiny_onnx), imgs, "--csv", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert not torch_imported
    from typer.testing import CliRunner

    from spillguard.cli import app

    ref = tmp_path / "torch.csv"
    r = CliRunner().invoke(app, ["predict", str(tiny_run), imgs, "--backend", "torch", "--csv", str(ref)])
    assert r.exit_code == 0, r.output
    a, b = read_csv(ref), read_csv(out)
    assert len(a) == len(b) > 100
    assert [r["path"] for r in a] == [r["path"] for r in b]
    assert [r["verdict"] for r in a] == [r["verdict"] for r in b]
    assert {r["verdict"] for r in a} == {
        "spill",
        "normal",
    }  # both verdicts occur, so equality means something
    sa, sb = (np.array([float(r["score"]) for r in rows]) for rows in (a, b))
    # the CSV keeps 6 significant digits: parity within the runtime's 1e-5 plus that rounding
    assert parity_error(sa, sb, 1.0) <= PARITY_RTOL + 1e-5


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["train", "DATA", "-o", "runs/x"], "train"),
        (["evaluate", "RUN", "TEST"], "evaluate"),
        (["export", "RUN", "-o", "m.onnx"], "export"),
        (["predict", "RUN", "imgs/"], "predict RUN"),
        (["demo", "-o", "out"], "demo"),
    ],
)
def test_commands_that_need_torch_say_so_in_one_line(args: list[str], command: str, tmp_path: Path) -> None:
    res, torch_imported = run_without_torch(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()[:-1]  # the runner's own last line aside
    assert len(lines) == 1, res.stderr
    assert f"spillguard {command} needs torch" in lines[0]
    assert 'pip install "avatargen-spillguard[train]"' in lines[0] and "torch==2.13.0" in lines[0]
    assert not torch_imported and not list(tmp_path.iterdir())  # nothing written


def test_the_hook_really_blocks_torch() -> None:
    """The runner's hook makes `import torch` fail (so the tests above can fail)."""
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNNER.replace('runpy.run_module("spillguard", run_name="__main__")', "import torch"),
            "[]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0 and "blocked by the test" in res.stderr
