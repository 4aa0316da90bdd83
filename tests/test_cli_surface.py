"""The CLI surface of both tools: every command has --help, bad arguments exit 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.main import get_command

from avatargen.cli import app as avatargen_app
from spillguard.cli import app as spillguard_app


def _walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    out = [path]
    # a group of either the click package or the copy typer >= 0.2x vendors
    for name, sub in getattr(cmd, "commands", {}).items():
        out += _walk(sub, (*path, name))
    return out


def _all_commands() -> list[tuple[str, tuple[str, ...]]]:
    cmds: list[tuple[str, tuple[str, ...]]] = []
    for prog, app in (("avatargen", avatargen_app), ("spillguard", spillguard_app)):
        cmds += [(prog, p) for p in _walk(get_command(app), ())]
    return cmds


def _app(prog: str) -> typer.Typer:
    return avatargen_app if prog == "avatargen" else spillguard_app


@pytest.mark.parametrize(
    ("prog", "path"), _all_commands(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else v
)
def test_every_command_has_help(prog: str, path: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(_app(prog), [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output


@pytest.mark.parametrize("prog", ["avatargen", "spillguard"])
def test_unknown_option_exits_2(prog: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", prog, "--no-such-option"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 2
    assert "No such option" in res.stderr


@pytest.mark.parametrize("prog", ["avatargen", "spillguard"])
def test_version(prog: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", prog, "--version"], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0
    assert res.stdout.startswith(prog)
