"""`avatargen pixels ...` commands: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from avatargen.choices import DEFAULT_PIXEL_METHOD, PIXEL_METHODS
from sharedcore.atomic import check_output
from sharedcore.cli_params import parse_optional_size
from sharedcore.console import info
from sharedcore.extras import require
from sharedcore.validate import seed_option

# The pixel models (scipy, matplotlib: the `avatargen` extra) are imported inside the commands, after
# `require`, so that the CLI shell starts on the core dependencies (sharedcore.extras).
if TYPE_CHECKING:
    from avatargen.pixels.collection import Collection

app = typer.Typer(
    help="Estimate pixel colour distributions from avatar images and generate new avatars.",
    no_args_is_help=True,
)

_METHOD_HELP = f"Model: {', '.join(PIXEL_METHODS)} ({DEFAULT_PIXEL_METHOD} = the coherent part-based model)."


def _load(folder: Path, size: str | None) -> Collection:
    from avatargen.pixels.collection import load_collection

    col = load_collection(folder, parse_optional_size(size))
    for p, why in col.skipped:
        info(f"skipped {p.name}: {why}")
    w, h = col.size
    info(
        f"{len(col)} images at {w}x{h} from {folder}"
        + (f" ({len(col.resized)} resized)" if col.resized else "")
    )
    return col


@app.command("fit")
def fit(
    folder: Path = typer.Argument(..., help="Folder of avatar images (PNG/JPEG...)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model file to write (.npz)."),
    method: str = typer.Option(DEFAULT_PIXEL_METHOD, "--method", "-m", help=_METHOD_HELP),
    alpha: float = typer.Option(
        0.0, "--alpha", help="Additive smoothing of the categoricals (0 = plain MLE)."
    ),
    size: str | None = typer.Option(
        None,
        "--size",
        help="Common size WIDTHxHEIGHT or a scale of 264x280 (1x, 2x); default: the most frequent size.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model file."),
) -> None:
    """Estimate a pixel model from a folder of avatars and save it."""
    require("avatargen pixels fit", "avatargen")
    from avatargen.pixels.methods import make_model

    check_output(output, force, kind="file", inputs=[folder])
    model = make_model(method, alpha)
    col = _load(folder, size)
    model.fit(col.images)
    model.save(output, force=force)
    info(f"wrote {method} model to {output}")


@app.command("sample")
def sample(
    model_path: Path = typer.Argument(
        ..., metavar="MODEL", help="Model file from `pixels fit`, or a folder of images to fit first."
    ),
    n: int = typer.Option(5, "-n", "--n", min=1, max=10000, help="How many avatars."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (PNGs + grid.png)."),
    seed: int = typer.Option(0, "--seed", callback=seed_option, help="Random seed."),
    method: str = typer.Option(
        DEFAULT_PIXEL_METHOD, "--method", "-m", help="When MODEL is a folder: " + _METHOD_HELP
    ),
    size: str | None = typer.Option(
        None, "--size", help="When MODEL is a folder: common size WIDTHxHEIGHT or a scale of 264x280 (2x)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
) -> None:
    """Generate new avatars from a saved model (or from a folder, with the coherent model by default)."""
    require("avatargen pixels sample", "avatargen")
    from avatargen.pixels.evaluate import sample_to_folder
    from avatargen.pixels.methods import load_model, make_model

    check_output(output, force, kind="dir", inputs=[model_path])  # before fitting a folder
    model = (
        make_model(method).fit(_load(model_path, size).images)
        if model_path.is_dir()
        else load_model(model_path)
    )
    paths = sample_to_folder(model, n, output, seed, force)
    info(f"wrote {n} avatars and {paths[-1].name} to {output}")


@app.command("evaluate")
def evaluate(
    folder: Path = typer.Argument(..., help="Folder of avatar images."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output folder for the run (report.html inside)."
    ),
    n: int = typer.Option(5, "-n", "--n", min=2, max=200, help="Samples per method."),
    seed: int = typer.Option(0, "--seed", callback=seed_option, help="Random seed."),
    alpha: float = typer.Option(0.0, "--alpha", help="Smoothing for sampling (0 = plain MLE)."),
    loo_alpha: float = typer.Option(0.1, "--loo-alpha", help="Smoothing for the leave-one-out likelihood."),
    size: str | None = typer.Option(
        None,
        "--size",
        help="Common size WIDTHxHEIGHT or a scale of 264x280 (1x, 2x); default: the most frequent size.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
    seeds: int = typer.Option(
        0,
        "--seeds",
        min=0,
        max=200,
        help="Also measure the parts targets over seeds 0..K-1 (reliability.md).",
    ),
) -> None:
    """Fit every method, sample, and write the quality figures, montages and an HTML report."""
    require("avatargen pixels evaluate", "avatargen")
    from avatargen.pixels.evaluate import run_evaluation

    check_output(output, force, kind="dir", inputs=[folder])  # before loading and fitting
    col = _load(folder, size)
    result = run_evaluation(
        col,
        output,
        seed=seed,
        n_samples=n,
        alpha=alpha,
        loo_alpha=loo_alpha,
        force=force,
        reliability_seeds=seeds,
    )
    info(f"report: {result.report}")
    info(result.markdown)
    if seeds:
        info(result.reliability_markdown)
