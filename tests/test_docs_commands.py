"""The commands the README and the getting-started page show are run, so that they cannot rot.

A fenced ``bash`` block right after a ``<!-- runnable -->`` line is a runnable block. The fast tests
check the README's shape and that every command line of a runnable block (and of every ``bash`` block
of the docs pages) names a real command and real options of the installed CLI; the slow test runs each block with bash in a temporary folder (the
repository's ``src/`` linked in, the suite's own venv first on PATH) and checks what it wrote.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "docs" / "getting-started.md"]
RUNNABLE = re.compile(r"^<!-- runnable -->\n```bash\n(.*?)\n```$", re.MULTILINE | re.DOTALL)


def runnable_blocks(page: Path) -> list[str]:
    """The runnable ``bash`` blocks of ``page``, in order."""
    return RUNNABLE.findall(page.read_text(encoding="utf-8"))


def _command_lines(block: str) -> list[list[str]]:
    lines = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            lines.append(words)
    return lines


def test_the_readme_starts_with_the_two_set_up_commands_and_stays_short() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) < 150, f"README.md has {len(lines)} lines; move detail into docs/"
    first_block = re.search(r"```\w*\n(.*?)\n```", text, re.DOTALL)
    assert first_block is not None and text.index(first_block.group(0)) < 40
    commands = [shlex.split(line, comments=True) for line in first_block.group(1).splitlines()]
    assert commands == [["make", "demo"], ["make", "test"]]
    assert "docs/images/" in text  # its one picture


def _check_commands(where: str, blocks: list[str], only_tools: bool = False) -> int:
    """Each command line of ``blocks`` is `avatargen|spillguard SUBCOMMAND... [ARGS/OPTIONS]` whose
    sub-commands and options the CLI has; with ``only_tools`` other lines (pip, curl) are left alone.
    Returns the number of lines checked."""
    import typer.main

    from avatargen.cli import app as avatargen_app
    from spillguard.cli import app as spillguard_app

    roots = {
        "avatargen": typer.main.get_command(avatargen_app),
        "spillguard": typer.main.get_command(spillguard_app),
    }
    checked = 0
    for block in blocks:
        for words in _command_lines(block):
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value before the command
                words = words[1:]
            if only_tools and (not words or words[0] not in roots):
                continue
            assert words[0] in roots, f"{where}: {' '.join(words)}: not a command of either tool"
            checked += 1
            command = roots[words[0]]
            rest = words[1:]
            while getattr(command, "commands", None) and rest and rest[0] in command.commands:
                command = command.commands[rest.pop(0)]
            assert not getattr(command, "commands", None), f"{where}: {' '.join(words)}: no sub-command"
            known = {opt for p in command.params for opt in (*p.opts, *getattr(p, "secondary_opts", []))}
            used = {w.split("=", 1)[0] for w in rest if w.startswith("-")}
            assert used <= known, f"{where}: {' '.join(words)}: unknown options {sorted(used - known)}"
    return checked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_runnable_command_names_real_commands_and_options(page: Path) -> None:
    """A renamed option or command fails here, in the fast set, before the slow run."""
    blocks = runnable_blocks(page)
    tools = {words[0] for block in blocks for words in _command_lines(block)}
    assert tools == {"avatargen", "spillguard"}, f"{page.name}: runnable blocks of both tools expected"
    assert _check_commands(page.name, blocks) >= 8


def test_every_command_of_the_guides_bash_blocks_names_real_commands_and_options() -> None:
    """The guides' ``bash`` blocks are not run (they need real data or a server), but their
    commands and options must exist."""
    checked = 0
    for page in sorted((REPO / "docs").rglob("*.md")):
        blocks = re.findall(r"^```bash\n(.*?)\n```$", page.read_text(encoding="utf-8"), re.M | re.S)
        checked += _check_commands(str(page.relative_to(REPO)), blocks, only_tools=True)
    assert checked >= 20


def _run(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    env["WANDB_MODE"] = "disabled"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_the_shown_commands_run_as_written(tmp_path: Path) -> None:
    blocks: list[str] = []
    for page in PAGES:
        blocks += [b for b in runnable_blocks(page) if b not in blocks]  # the same tour on both pages: once
    assert len(blocks) >= 2
    (tmp_path / "src").symlink_to(REPO / "src", target_is_directory=True)
    for block in blocks:
        done = _run(block, tmp_path)
        assert done.returncode == 0, f"exit {done.returncode} running:\n{block}\n{done.stderr[-3000:]}"
    # what the tour says it writes
    assert (tmp_path / "model.json").is_file()
    assert (tmp_path / "avatars" / "grid.png").is_file()
    assert len(list((tmp_path / "avatars").glob("avatar_*.png"))) == 8
    assert (tmp_path / "runs" / "pits" / "report.html").is_file()
    assert (tmp_path / "runs" / "pits" / "evaluation").is_dir()
    with (tmp_path / "verdicts.csv").open(newline="") as fh:
        torch_rows = {Path(r["path"]).name: r["verdict"] for r in csv.DictReader(fh)}
    with (tmp_path / "verdicts-onnx.csv").open(newline="") as fh:
        onnx_rows = {Path(r["path"]).name: r["verdict"] for r in csv.DictReader(fh)}
    assert len(torch_rows) == 100 and onnx_rows == torch_rows  # same images, same verdicts on onnxruntime
