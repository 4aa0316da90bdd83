"""`avatargen avatars ...` commands."""

import typer

app = typer.Typer(help="Draw sampled styles as Avataaars-type avatars (SVG + PNG).", no_args_is_help=True)
