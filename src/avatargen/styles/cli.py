"""`avatargen styles ...` commands."""

import typer

app = typer.Typer(
    help="Learn style probabilities (MLE/Bayes) from a styles table and sample new styles.",
    no_args_is_help=True,
)
