"""Both CLIs on the core dependencies only (numpy, Pillow, typer, tqdm, PyYAML; an import hook refuses
every other third-party package, as if it were not installed): every command's --help works, and every
command that needs an install extra ends in one line naming the missing packages and the pip command,
exit 2, nothing written. And one avatargen command with only pandas missing names just pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.blocked_imports import importable_with, run_blocked, run_cli_blocked
from tests.test_cli_surface import _all_commands

CORE_ONLY = frozenset(importable_with("core"))

# Runs each invocation of argv[1] (a JSON list of [prog, args]) through the real entry point in this
# one process and prints [exit code, stdout, stderr] per invocation as JSON.
EACH = """
import contextlib, io, json, sys
from sharedcore.console import run_cli
out = []
for prog, args in json.loads(sys.argv[1]):
    tool = __import__(f"{prog}.cli", fromlist=["app"])
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        try:
            run_cli(tool.app, prog, args, extras=tool.EXTRAS)
        except SystemExit as end:
            code = end.code
    out.append([code, o.getvalue(), e.getvalue()])
print(json.dumps(out))
"""

NEEDS_AN_EXTRA = [
    ("spillguard", ["train", "DATA", "-o", "runs/x"], "train"),
    ("spillguard", ["evaluate", "RUN", "TEST"], "train"),
    ("spillguard", ["predict", "m.onnx", "imgs/"], "runtime"),
    ("spillguard", ["predict", "RUN", "imgs/"], "train"),
    ("spillguard", ["export", "RUN", "-o", "m.onnx"], "export"),
    ("spillguard", ["report", "RUN"], "train"),
    ("spillguard", ["demo", "-o", "out"], "train"),
    ("spillguard", ["experiment", "c.yaml", "-o", "out", "-d", "DATA"], "train"),
    ("spillguard", ["serve", "m.onnx"], "serve,runtime"),
    ("spillguard", ["synth", "-o", "out", "--domain", "surface"], "train"),
    ("avatargen", ["demo", "-o", "out"], "avatargen"),
    ("avatargen", ["serve", "example"], "avatargen,serve"),
    ("avatargen", ["styles", "fit", "s.csv", "-o", "m.json"], "avatargen"),
    ("avatargen", ["styles", "sample", "m.json"], "avatargen"),
    ("avatargen", ["styles", "prob", "m.json", "a=b"], "avatargen"),
    ("avatargen", ["styles", "explain", "m.json"], "avatargen"),
    ("avatargen", ["styles", "experiment", "s.csv", "-o", "out"], "avatargen"),
    ("avatargen", ["avatars", "draw", "m.json", "-o", "out"], "avatargen"),
    ("avatargen", ["avatars", "render", "a=b", "-o", "a.png"], "avatargen"),
    ("avatargen", ["avatars", "mapping"], "avatargen"),
    ("avatargen", ["pixels", "fit", "imgs", "-o", "m.npz"], "avatargen"),
    ("avatargen", ["pixels", "sample", "m.npz", "-o", "out"], "avatargen"),
    ("avatargen", ["pixels", "evaluate", "imgs", "-o", "out"], "avatargen"),
]


GROUPS = ("styles", "avatars", "pixels", "feedback")
#: Commands that need no extra (besides `spillguard synth`, whose pit domain runs on the core and whose
#: surface domain needs scipy): writing the operators' labels as a training folder.
RUN_ON_THE_CORE = {"spillguard feedback export"}


def _each(invocations: list[tuple[str, list[str]]], cwd: Path) -> tuple[list[list], frozenset[str]]:
    res = run_blocked(EACH, json.dumps(invocations), allow=CORE_ONLY, cwd=cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout), res.modules


def test_every_help_runs_on_the_core_alone(tmp_path: Path) -> None:
    assert not {"torch", "pandas", "scipy", "sklearn", "matplotlib", "onnxruntime"} & CORE_ONLY
    invocations = [(prog, [*path, "--help"]) for prog, path in _all_commands()]
    results, modules = _each(invocations, tmp_path)
    for (prog, args), (code, out, err) in zip(invocations, results, strict=True):
        assert code == 0 and "Usage:" in out, (prog, args, err)
    assert modules & {"torch", "pandas", "scipy", "matplotlib"} == set()


def test_every_command_that_needs_an_extra_says_so_in_one_line(tmp_path: Path) -> None:
    invocations = [(prog, args) for prog, args, _ in NEEDS_AN_EXTRA]
    paths = [(prog, path) for prog, path in _all_commands()]
    leaves = {
        " ".join((prog, *path))
        for prog, path in paths
        if path and not any(q[: len(path)] == path and len(q) > len(path) for pr, q in paths if pr == prog)
    }
    covered = {" ".join((prog, *args[: 2 if args[0] in GROUPS else 1])) for prog, args in invocations}
    assert leaves - covered == RUN_ON_THE_CORE  # every other command is tried here
    results, _ = _each(invocations, tmp_path)
    for (prog, args, extra), (code, _out, err) in zip(NEEDS_AN_EXTRA, results, strict=True):
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (prog, args, err)
        assert lines[0].startswith(f"{prog}: error: {prog} ") and " needs " in lines[0], lines[0]
        assert lines[0].split("; ", 1)[1].startswith(f'pip install "avatargen-spillguard[{extra}]"'), lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("how", ["styles fit", "demo"])
def test_an_avatargen_command_without_pandas_names_pandas(how: str, tmp_path: Path) -> None:
    from avatargen.styles.data import EXAMPLE_STYLES

    args = (
        ["styles", "fit", str(EXAMPLE_STYLES), "-o", "m.json"] if how == "styles fit" else ["demo", "-o", "d"]
    )
    res = run_cli_blocked("avatargen", *args, block={"pandas"}, cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.error_lines() == [
        f'avatargen: error: avatargen {how} needs pandas, which is not installed; pip install "avatargen-spillguard[avatargen]"'
    ]
    assert "pandas" not in res.modules and not list(tmp_path.iterdir())


def test_synthetic_pits_are_made_on_the_core_alone(tmp_path: Path) -> None:
    args = ["synth", "-o", "data", "--n-train", "4", "--n-proliv", "2", "--n-test", "4"]
    res = run_cli_blocked("spillguard", *args, allow=CORE_ONLY, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(list((tmp_path / "data" / "train").iterdir())) == 4


def test_the_cli_choices_are_the_librarys() -> None:
    """The names the CLI shell offers without importing the library (avatargen.choices) are the ones
    the library implements."""
    from avatargen.choices import DEFAULT_PIXEL_METHOD, PIXEL_METHODS
    from avatargen.pixels.methods import DEFAULT_METHOD, METHODS

    assert tuple(METHODS) == PIXEL_METHODS and DEFAULT_METHOD == DEFAULT_PIXEL_METHOD in METHODS
