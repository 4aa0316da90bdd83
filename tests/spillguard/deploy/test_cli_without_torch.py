"""The `spillguard` CLI on the core dependencies plus the `runtime` extra only (an import hook refuses
every other third-party package, as if it were not installed): `--help` works and `predict model.onnx`
gives the torch backend's CSV while importing no torch, pandas, scipy, scikit-learn or matplotlib;
commands that need another extra say so in one line (exit 2) and write nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from spillguard.deploy.export import PARITY_RTOL, parity_error
from tests.blocked_imports import importable_with, run_blocked, run_cli_blocked

#: Packages the runtime path must never import (the old core's heavy dependencies and torch).
HEAVY = frozenset({"torch", "pandas", "scipy", "sklearn", "matplotlib", "pyarrow"})

#: What an install of the core dependencies and the runtime extra provides (from pyproject.toml and
#: the installed packages' own requirements): numpy, PIL, onnxruntime and its requirements, typer
#: with click/rich and theirs, tqdm, yaml.
RUNTIME_ONLY = frozenset(importable_with("core", "runtime"))


def run_runtime_only(*args: str, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    return run_cli_blocked("spillguard", *args, allow=RUNTIME_ONLY, cwd=cwd)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_runtime_install_holds_no_heavy_package_and_the_hook_refuses_them() -> None:
    assert {"numpy", "PIL", "onnxruntime", "typer", "tqdm", "yaml"} <= RUNTIME_ONLY
    assert not HEAVY & RUNTIME_ONLY, "the core + runtime dependencies pull a heavy package"
    # the hook really refuses them (so the tests below can fail), as a missing package fails
    for module in sorted(HEAVY):
        res = run_blocked(f"import {module}", allow=RUNTIME_ONLY)
        assert res.returncode == 1, module
        assert f"ModuleNotFoundError: No module named '{module}'" in res.stderr
        assert run_blocked(f"import {module}").returncode == 0  # installed here: the hook refused it
    assert (
        run_blocked("import numpy, PIL, onnxruntime, typer, tqdm, yaml", allow=RUNTIME_ONLY).returncode == 0
    )


def test_help_runs_on_the_runtime_install() -> None:
    res = run_runtime_only("--help")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "predict" in res.stdout and "serve" in res.stdout
    assert not HEAVY & res.modules


@pytest.mark.parametrize("backend", ["auto", "onnx"])
def test_predict_onnx_on_the_runtime_install_gives_the_torch_csv(
    backend: str, tiny_run: Path, tiny_onnx: Path, tiny_data: Path, tmp_path: Path
) -> None:
    imgs = str(tiny_data / "test" / "imgs")
    out = tmp_path / "onnx.csv"
    res = run_runtime_only("predict", str(tiny_onnx), imgs, "--csv", str(out), "--backend", backend)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "onnxruntime" in res.modules and not HEAVY & res.modules, sorted(HEAVY & res.modules)
    from typer.testing import CliRunner

    from spillguard.cli import app

    ref = tmp_path / "torch.csv"
    r = CliRunner().invoke(app, ["predict", str(tiny_run), imgs, "--backend", "torch", "--csv", str(ref)])
    assert r.exit_code == 0, r.output
    a, b = read_csv(ref), read_csv(out)
    assert len(a) == len(b) > 100
    assert [r["path"] for r in a] == [r["path"] for r in b]
    assert [r["verdict"] for r in a] == [r["verdict"] for r in b]
    assert {r["verdict"] for r in a} == {"spill", "normal"}  # both occur, so equality means something
    sa, sb = (np.array([float(r["score"]) for r in rows]) for rows in (a, b))
    # the CSV keeps 6 significant digits: parity within the runtime's 1e-5 plus that rounding
    assert parity_error(sa, sb, 1.0) <= PARITY_RTOL + 1e-5


@pytest.mark.parametrize(
    ("args", "command", "extra"),
    [
        (["train", "DATA", "-o", "runs/x"], "train", "train"),
        (["evaluate", "RUN", "TEST"], "evaluate", "train"),
        (["export", "RUN", "-o", "m.onnx"], "export", "export"),
        (["predict", "RUN", "imgs/"], "predict RUN", "train"),
        (["predict", "RUN", "imgs/", "--backend", "onnx"], "predict RUN", "export"),
        (["demo", "-o", "out"], "demo", "train"),
    ],
)
def test_commands_that_need_torch_say_so_in_one_line(
    args: list[str], command: str, extra: str, tmp_path: Path
) -> None:
    res = run_runtime_only(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.error_lines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"spillguard: error: spillguard {command} needs torch, "), lines[0]
    assert f'pip install "avatargen-spillguard[{extra}]"' in lines[0] and "torch==2.13.0" in lines[0]
    assert "torch" not in res.modules and not list(tmp_path.iterdir())  # nothing written
