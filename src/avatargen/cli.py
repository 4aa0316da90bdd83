"""The `avatargen` command line: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import typer

from avatargen import __version__
from avatargen.pixels.cli import app as pixels_app
from avatargen.render.cli import app as avatars_app
from avatargen.styles.cli import app as styles_app
from sharedcore.console import run_cli, set_quiet

app = typer.Typer(
    help="Style and avatar generator: MLE/Bayes style models, avatar rendering, pixel-distribution avatars.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(styles_app, name="styles")
app.add_typer(avatars_app, name="avatars")
app.add_typer(pixels_app, name="pixels")


def _version(value: bool) -> None:
    if value:
        print(f"avatargen {__version__}")
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
    run_cli(app, "avatargen")
