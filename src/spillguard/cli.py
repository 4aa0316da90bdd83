"""The `spillguard` command line: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import typer

from sharedcore.console import run_cli, set_quiet
from spillguard import __version__

app = typer.Typer(
    help="Spill detector for pit images: convolutional autoencoder, thresholds, metrics and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"spillguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only results and errors; no progress bars."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    set_quiet(quiet)


def main() -> None:
    """Console-script entry point."""
    run_cli(app, "spillguard")
