"""`avatargen pixels ...` commands."""

import typer

app = typer.Typer(
    help="Estimate pixel colour distributions from avatar images and generate new avatars.",
    no_args_is_help=True,
)
