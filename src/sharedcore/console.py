"""Console output shared by both CLIs: a quiet switch, messages, progress bars, and the
wrapper that turns a UserError into one line on stderr and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import typer
from tqdm import tqdm

from sharedcore.errors import UserError

T = TypeVar("T")

_state = {"quiet": False}


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


def run_cli(app: Callable[..., object], prog: str) -> None:
    """Run a typer app; a UserError becomes ``<prog>: error: <message>`` on stderr and exit 2."""
    try:
        app()
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


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
