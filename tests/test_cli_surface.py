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


def _seed_commands() -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for prog, path in _all_commands():
        cmd: Any = get_command(_app(prog))
        for name in path:
            cmd = cmd.commands[name]
        if any("--seed" in getattr(p, "opts", ()) for p in cmd.params):
            out.append((prog, path))
    return out


@pytest.mark.parametrize(
    ("prog", "path"), _seed_commands(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else v
)
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_every_seed_option_is_checked(prog: str, path: tuple[str, ...], seed: str) -> None:
    from typer.testing import CliRunner

    from sharedcore.errors import UserError

    res = CliRunner().invoke(_app(prog), [*path, "--seed", seed])
    assert isinstance(res.exception, UserError), res.output
    assert str(res.exception).startswith(
        f"--seed: {seed} is out of range; use an integer from 0 to 4294967295"
    )
