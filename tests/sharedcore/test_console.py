"""The shared CLI entry point: every way a command ends is one line on stderr and a fixed exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from sharedcore import console
from sharedcore.console import CRASH_DIR_ENV, make_app, run_cli
from sharedcore.errors import UserError


def _app() -> typer.Typer:
    app = make_app("toy", "A toy tool.", "9.9")

    @app.command()
    def ok(n: int = typer.Option(1, "--n")) -> None:
        """Print n."""
        print(f"n={n}")

    @app.command()
    def mistake(path: Path = typer.Argument(...)) -> None:
        """A user's mistake."""
        raise UserError(f"{path}: no such file\nreally; check the path")

    @app.command()
    def bug() -> None:
        """An unexpected exception."""
        {}["missing"]

    @app.command()
    def interrupt() -> None:
        """Ctrl-C."""
        raise KeyboardInterrupt

    @app.command()
    def term() -> None:
        """SIGTERM from outside."""
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not interrupt")  # pragma: no cover

    @app.command()
    def pipe() -> None:
        """Output into a closed pipe (e.g. `| head -1`)."""
        raise BrokenPipeError(32, "Broken pipe")

    @app.command()
    def leave(code: int = typer.Option(0, "--code")) -> None:
        """typer.Exit with a code."""
        raise typer.Exit(code)

    return app


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private crash folder (so the suite-wide 'no bug report' check is not tripped on purpose)."""
    d = tmp_path / "crash"
    monkeypatch.setenv(CRASH_DIR_ENV, str(d))
    before = signal.getsignal(signal.SIGTERM)
    yield d
    signal.signal(signal.SIGTERM, before)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        run_cli(_app(), "toy", args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_success_and_typer_exit(crash_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["ok", "--n", "3"], capsys) == (0, "n=3\n", "")
    assert _run(["leave", "--code", "3"], capsys)[0] == 3
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out == "toy 9.9\n"
    code, out, _ = _run(["ok", "--help"], capsys)
    assert code == 0 and "Usage:" in out


def test_user_error_is_one_line_exit_2(crash_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["mistake", "x.csv"], capsys)
    assert code == 2 and out == ""
    assert err == "toy: error: x.csv: no such file really; check the path\n"
    assert not crash_dir.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--no-such-option"], "No such option: --no-such-option"),
        (["ok", "--n", "many"], "Invalid value for '--n'"),
        (["ok", "--n"], "requires an argument"),
        (["mistake"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    crash_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = _run(args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err, err
    assert "--help" in err and "╭" not in err and "Usage:" not in err
    assert not crash_dir.exists()


def test_bug_is_one_line_naming_the_log(crash_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n_before = len(console.bug_reports)
    code, out, err = _run(["bug"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "a bug" in err and "KeyError" in err
    logs = list(crash_dir.glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'missing'" in text
    assert "command: toy bug" in text
    assert console.bug_reports[n_before:] == logs


def test_bug_log_falls_back_to_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, so no folder can be made below it")
    monkeypatch.setenv(CRASH_DIR_ENV, str(blocker / "crash"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, _, err = _run(["bug"], capsys)
    logs = list((tmp_path / "tmp" / "toy-crash").glob("crash-*.log"))
    assert code == 1 and len(logs) == 1 and str(logs[0]) in err


def test_broken_pipe_is_quiet(
    crash_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_silence_stdout", lambda: None)  # keep pytest's stdout intact
    assert _run(["pipe"], capsys) == (1, "", "")
    assert not crash_dir.exists()


def test_interrupt_and_sigterm(crash_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["interrupt"], capsys) == (130, "", "toy: interrupted\n")
    assert _run(["term"], capsys) == (143, "", "toy: terminated\n")
    assert not crash_dir.exists()


_INTERRUPT_IN_EXEC = """
import typer
from sharedcore.console import make_app, run_cli

app = make_app("toy", "A toy tool.", "9.9")

@app.command()
def build() -> None:
    \"\"\"Ctrl-C inside a string exec, as when it lands while dataclasses build a class's methods.\"\"\"
    exec("raise KeyboardInterrupt", {})

@app.command()
def other() -> None:
    \"\"\"Unused: two commands make build a subcommand.\"\"\"

run_cli(app, "toy")
"""


def test_interrupt_inside_exec_still_exits_130(tmp_path: Path) -> None:
    # python -m: CPython's own "unhandled KeyboardInterrupt" record made the process kill itself with
    # SIGINT (-2) after run_cli had handled the interrupt and chosen 130 (CI caught it mid-training).
    (tmp_path / "toypkg").mkdir()
    (tmp_path / "toypkg" / "__init__.py").write_text("")
    (tmp_path / "toypkg" / "__main__.py").write_text(_INTERRUPT_IN_EXEC)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-m", "toypkg", "build"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert (proc.returncode, proc.stderr) == (130, "toy: interrupted\n")


@pytest.mark.parametrize(
    ("prog", "args", "needle"),
    [
        ("spillguard", ["--no-such-option"], "No such option"),
        ("spillguard", ["train"], "Missing argument"),
        ("spillguard", ["synth", "-o", "x", "--seed", "abc"], "Invalid value for '--seed'"),
        ("avatargen", ["styles", "fit"], "Missing argument"),
        ("avatargen", ["pixels", "sample", "m.npz", "-n", "two"], "Invalid value"),
    ],
)
def test_real_tools_usage_errors_one_line(tmp_path: Path, prog: str, args: list[str], needle: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", prog, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and needle in res.stderr and "--help" in res.stderr, res.stderr
    assert res.stdout == ""


_NAMES_SCRIPT = """
import os, typer
from sharedcore.console import info, make_app, run_cli
from sharedcore.errors import UserError
app = make_app("toy", "toy", "1")
@app.command()
def show(path: str) -> None:
    info(f"skipped {path}: unreadable")                # a name that is not UTF-8, or a lone surrogate
    raise UserError(f"{path}: no such file; check the path")
run_cli(app, "toy")
"""


@pytest.mark.parametrize(
    ("arg", "shown"),
    [(b"caf\xe9.png", b"caf\xe9.png"), (b"\xd0\xba\xd0\xb0.png", "ка.png".encode())],
    ids=["latin1-name", "utf8-name"],
)
def test_names_that_are_not_utf8_print_as_their_bytes(tmp_path: Path, arg: bytes, shown: bytes) -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8", CRASH_DIR_ENV: str(tmp_path / "crash")}
    env.pop("PYTHONIOENCODING", None)
    res = subprocess.run(
        [sys.executable, "-c", _NAMES_SCRIPT, "show", arg], capture_output=True, env=env, timeout=60
    )
    assert res.returncode == 2, res.stderr
    assert res.stdout == b"skipped " + shown + b": unreadable\n"
    assert res.stderr == b"toy: error: " + shown + b": no such file; check the path\n"
    assert not (tmp_path / "crash").exists()


def test_a_lone_surrogate_prints_escaped() -> None:
    from sharedcore.console import OUTPUT_ERRORS

    assert "a\ud800b".encode("utf-8", OUTPUT_ERRORS) == b"a\\ud800b"
    assert os.fsdecode(b"\xe9").encode("utf-8", OUTPUT_ERRORS) == b"\xe9"
