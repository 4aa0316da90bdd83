"""Console output shared by both CLIs: a quiet switch, messages, progress bars, and the entry point
that turns every way a command can end into one line on stderr and an exit code.

Exit codes of :func:`run_cli`: 0 success; 2 a user's mistake (UserError, a usage error such as an
unknown option or a missing argument, or a package of an install extra that is not installed); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM); 1 a bug
(an unexpected exception: one line naming the log file that holds the full traceback).
"""

from __future__ import annotations

import codecs
import datetime as _dt
import os
import platform
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import typer
from tqdm import tqdm

from sharedcore.errors import UserError
from sharedcore.extras import missing_package_error

T = TypeVar("T")

_state = {"quiet": False}

#: Environment variable naming the folder where bug reports (full tracebacks) are written.
CRASH_DIR_ENV = "SHAREDCORE_CRASH_DIR"

#: Log files written by the last-resort handler in this process (tests assert it stays empty).
bug_reports: list[Path] = []


def set_quiet(quiet: bool) -> None:
    """Silence messages and progress bars (errors are still printed)."""
    _state["quiet"] = bool(quiet)


def info(message: str) -> None:
    """Print a message to stdout unless quiet."""
    if not _state["quiet"]:
        print(message, flush=True)


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar on stderr (hidden when quiet or not a terminal-like run)."""
    yield from tqdm(iterable, desc=desc, total=total, disable=_state["quiet"], leave=False, file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a plain ``kill``, ``timeout``, a CI cancel), raised where the program was, so that
    every ``except BaseException`` / ``finally`` clean-up (temporary outputs) runs as for Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def install_sigterm_handler() -> None:
    """Make SIGTERM raise :class:`Terminated` (a KeyboardInterrupt) in the main thread."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def crash_dir(prog: str) -> Path:
    """Where bug reports go: $SHAREDCORE_CRASH_DIR, else the user's cache folder (XDG), ``<prog>/crash``."""
    env = os.environ.get(CRASH_DIR_ENV)
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / prog / "crash"


def write_bug_report(prog: str, exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the command line, versions and full traceback of ``exc`` to a new log file; return its path.

    Falls back to the system temporary folder when the cache folder cannot be written.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (
        f"{prog} crashed: this is a bug, please report it with this file.\n"
        f"command: {' '.join([prog, *argv])}\n"
        f"python {platform.python_version()} on {platform.platform()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    last: OSError | None = None
    for folder in (crash_dir(prog), Path(tempfile.gettempdir()) / f"{prog}-crash"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"crash-{stamp}-{os.getpid()}-", suffix=".log", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            bug_reports.append(Path(name))
            return Path(name)
        except OSError as err:
            last = err
    raise OSError(f"cannot write a bug report ({last})")


#: Error handler of the CLIs' stdout/stderr: a file name that is not UTF-8 (Python keeps its bytes as
#: surrogates, U+DC80..U+DCFF) is written back as those bytes, any other unencodable character as \\uXXXX;
#: so printing a path never fails with UnicodeEncodeError.
OUTPUT_ERRORS = "sharedcore.names"


def _encode_names(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start : exc.end]:
        o = ord(ch)
        out += bytes([o - 0xDC00]) if 0xDC80 <= o <= 0xDCFF else f"\\u{o:04x}".encode("ascii")
    return bytes(out), exc.end


codecs.register_error(OUTPUT_ERRORS, _encode_names)


def safe_output_streams() -> None:
    """Make sys.stdout/sys.stderr print any path or name (see ``OUTPUT_ERRORS``) instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=OUTPUT_ERRORS)
            except (ValueError, OSError):  # a closed or unusual stream: leave it as it is
                pass


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _usage_line(prog: str, exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else prog
    return f"{path}: error: {_one_line(exc.format_message()).rstrip('.')}; see '{path} --help'"


# The click that typer runs on: its own vendored copy (typer >= 0.2x) or the click package.
_click_exceptions: Any = sys.modules[typer.BadParameter.__module__]
_UsageError: type[Exception] = _click_exceptions.UsageError
_ClickException: type[Exception] = _click_exceptions.ClickException
# click >= 8.2 raises this (a UsageError) for a bare group with no_args_is_help; older click exits 0.
_NoArgsIsHelp: type[Exception] = getattr(
    _click_exceptions, "NoArgsIsHelpError", type("_Never", (Exception,), {})
)


def _command_path(command: Any, argv: Sequence[str], prog: str) -> str:
    """The command that ``argv`` names, e.g. ``avatargen styles fit`` (root options skipped)."""
    words, cmd = [prog], command
    for arg in argv:
        sub = getattr(cmd, "commands", {}).get(arg)
        if sub is None:
            if arg.startswith("-"):
                continue
            break
        words.append(arg)
        cmd = sub
    return " ".join(words)


def run_cli(
    app: typer.Typer, prog: str, args: Sequence[str] | None = None, extras: Sequence[str] = ()
) -> None:
    """Run a typer app as a program; always ends in SystemExit with one of the exit codes above.

    ``args`` defaults to ``sys.argv[1:]``. A UserError or usage error is one line and exit 2, and so
    is a package of an install extra that a command imports but is not installed (the line names the
    package and the pip command; ``extras`` are the tool's own, looked up first: see
    ``sharedcore.extras``). An unexpected exception is the last-resort handler: one line saying it is
    a bug and naming the log file with the traceback (:func:`write_bug_report`), exit 1.
    """
    argv = list(sys.argv[1:] if args is None else args)
    previous = signal.getsignal(signal.SIGTERM)
    install_sigterm_handler()
    safe_output_streams()
    command = typer.main.get_command(app)
    try:
        try:
            with command.make_context(prog, argv) as ctx:
                command.invoke(ctx)
        except _NoArgsIsHelp as exc:  # click >= 8.2: a bare group shows its help
            exc.show()  # type: ignore[attr-defined]
            code = int(exc.exit_code)  # type: ignore[attr-defined]
        except typer.Exit as exc:  # --help, --version, typer.Exit
            code = int(exc.exit_code)
        else:
            code = 0
        sys.stdout.flush()
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except _UsageError as exc:
        print(_usage_line(prog, exc), file=sys.stderr)
        code = 2
    except _ClickException as exc:  # e.g. click's FileError
        print(f"{prog}: error: {_one_line(exc.format_message())}", file=sys.stderr)  # type: ignore[attr-defined]
        code = int(exc.exit_code)  # type: ignore[attr-defined]
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        code = 143
    except (KeyboardInterrupt, typer.Abort):
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly, as click does
        _silence_stdout()
        code = 1
    except SystemExit:
        raise
    except Exception as exc:
        missing = (
            missing_package_error(exc, _command_path(command, argv, prog), extras)
            if isinstance(exc, ModuleNotFoundError)
            else None
        )
        if missing is not None:
            print(f"{prog}: error: {missing}", file=sys.stderr)
            raise SystemExit(missing.exit_code) from None
        code = 1
        try:
            log = write_bug_report(prog, exc, argv)
            where = f"the full traceback is in {log}"
        except OSError as err:
            where = f"no traceback log could be written ({err})"
        print(
            f"{prog}: internal error (a bug, not your mistake): {type(exc).__name__}: {_one_line(str(exc), 200)}; "
            f"{where}; please report it with that file",
            file=sys.stderr,
        )
    # The command is over (its outputs whole or removed): a SIGTERM from here on, while the interpreter
    # exits (thread-pool joins, atexit), must not raise Terminated where nothing catches it and prints a
    # traceback; it gets the handler the process had before (the default: end quietly by the signal).
    signal.signal(signal.SIGTERM, signal.SIG_DFL if previous in (None, _raise_terminated) else previous)
    _forget_unhandled_interrupt()  # the exit code is ours, not a Ctrl-C that an exec'd string let through
    raise SystemExit(code)


def _forget_unhandled_interrupt() -> None:
    """Clear CPython's record of a KeyboardInterrupt that left an ``exec``/``eval`` of a string.

    A Ctrl-C that lands inside such a call (dataclasses and namedtuple build their methods that way, e.g.
    while torch imports a module mid-training) sets a flag that ``python -m`` checks after exit: the
    process then kills itself with SIGINT (exit -2) although we handled the interrupt and chose 130.
    Every string ``exec`` resets that flag first, so an empty one clears it.
    """
    exec("pass", {})  # a constant: only its side effect on the interpreter's flag matters


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def make_app(prog: str, help_text: str, version: str) -> typer.Typer:
    """The root typer app of a tool: ``--quiet`` and ``--version`` on every invocation, no tracebacks."""
    app = typer.Typer(
        help=help_text, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
    )

    def _show_version(value: bool) -> None:
        if value:
            print(f"{prog} {version}")
            raise typer.Exit()

    @app.callback()
    def _root(
        quiet: bool = typer.Option(
            False, "--quiet", "-q", help="Print only results and errors; no progress bars."
        ),
        show_version: bool = typer.Option(
            False, "--version", callback=_show_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        set_quiet(quiet)

    return app


__all__ = [
    "CRASH_DIR_ENV",
    "Terminated",
    "bug_reports",
    "crash_dir",
    "info",
    "install_sigterm_handler",
    "make_app",
    "progress",
    "run_cli",
    "safe_output_streams",
    "set_quiet",
    "write_bug_report",
]
