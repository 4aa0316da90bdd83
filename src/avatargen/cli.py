"""The `avatargen` command line: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

from pathlib import Path

import typer

from avatargen import __version__
from avatargen.pixels.cli import app as pixels_app
from avatargen.render.cli import app as avatars_app
from avatargen.styles.cli import app as styles_app
from sharedcore.console import make_app, run_cli
from sharedcore.extras import require
from sharedcore.validate import seed_option

# Only the core dependencies (numpy, Pillow, typer, tqdm, PyYAML) are imported at start-up: every
# command checks its install extras with `require` (one line and exit 2 when missing) and imports the
# library inside (sharedcore.extras).

#: This tool's install extras, in the order a missing package is looked up (sharedcore.extras).
EXTRAS = ("avatargen", "serve")

app = make_app(
    "avatargen",
    "Style and avatar generator: MLE/Bayes style models, avatar rendering, pixel-distribution avatars.",
    __version__,
)
app.add_typer(styles_app, name="styles")
app.add_typer(avatars_app, name="avatars")
app.add_typer(pixels_app, name="pixels")


@app.command()
def demo(
    out: Path = typer.Option(Path("out/avatargen"), "-o", "--out", help="Output folder (built atomically)."),
    seed: int = typer.Option(
        0, "--seed", callback=seed_option, help="Random seed: the same seed gives the same files."
    ),
    styles: Path | None = typer.Option(
        None, "--styles", help="Styles table/counts file (default: built-in example)."
    ),
    rules: Path | None = typer.Option(None, "--rules", help="Rules/structure file (YAML/JSON) for --styles."),
    avatars: Path | None = typer.Option(
        None,
        "--avatars",
        help="Folder of avatar images for the pixel models (default: drawn by the renderer).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
) -> None:
    """Run the main job on built-in data: style model + experiments, avatars, pixel-model avatars."""
    require("avatargen demo", "avatargen")
    from avatargen.demo import run_demo

    result = run_demo(out, seed=seed, styles=styles, rules=rules, avatars=avatars, force=force)
    print(f"HTML report: {result.report}")


@app.command()
def serve(
    model: str = typer.Argument(
        ...,
        metavar="MODEL",
        help="Model file from `avatargen styles fit`, or `example` for the built-in example model "
        "(fitted at start from example_styles.csv with example_rules.yaml).",
    ),
    mapping: str | None = typer.Option(
        None,
        "--mapping",
        "-m",
        help="Mapping YAML or built-in name (english, course_ru); default: the built-in one that covers MODEL.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8001, "--port", help="TCP port (0: a free one, printed)."),
    workers: int = typer.Option(1, "--workers", help="uvicorn worker processes (each loads the model)."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
) -> None:
    """Serve avatars with probabilities over HTTP (FastAPI; the explore page at /, the API at /docs)."""
    require("avatargen serve", "avatargen", "serve")
    from avatargen.serve.config import ServeConfig
    from avatargen.serve.server import run_server

    run_server(ServeConfig(model, mapping, host=host, port=port, workers=workers, access_log=access_log))


def main() -> None:
    """Console-script entry point."""
    run_cli(app, "avatargen", extras=EXTRAS)
