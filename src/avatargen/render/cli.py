"""`avatargen avatars ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

from avatargen.choices import BUILTIN_MAPPINGS
from sharedcore.atomic import check_output
from sharedcore.cli_params import parse_pairs, parse_size
from sharedcore.console import info
from sharedcore.extras import require
from sharedcore.validate import seed_option

# The renderer (python_avatars, resvg-py, pandas, matplotlib: the `avatargen` extra) is imported inside
# the commands, after `require`, so that the CLI shell starts on the core dependencies.

app = typer.Typer(help="Draw sampled styles as Avataaars-type avatars (SVG + PNG).", no_args_is_help=True)


@app.command("draw")
def draw(
    model: Path = typer.Argument(..., help="A saved StyleModel (from `avatargen styles fit`)."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output folder, written at once (a non-empty one is only replaced with --force).",
    ),
    n: int = typer.Option(16, "-n", help="How many styles to sample and draw."),
    given: list[str] = typer.Option(
        [], "--given", "-g", help="Fix an attribute: attr=value (repeatable; names may hold spaces)."
    ),
    mapping: str | None = typer.Option(
        None,
        "--mapping",
        "-m",
        help="Mapping YAML from attribute values to avatar parts, or a built-in name (english, course_ru). "
        "Default: the built-in mapping that covers the model.",
    ),
    seed: int = typer.Option(0, "--seed", callback=seed_option, help="Random seed for sampling styles."),
    size: str = typer.Option(
        "528x560", "--size", help="PNG size WIDTHxHEIGHT or a scale of 264x280 (1x, 2x)."
    ),
    unique: bool = typer.Option(False, "--unique", help="Sample distinct styles."),
    columns: int = typer.Option(4, "--columns", help="Avatars per row in grid.png."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
) -> None:
    """Sample styles from MODEL and draw each as PNG + SVG, with a captioned grid, styles.csv and report.html."""
    require("avatargen avatars draw", "avatargen")
    from avatargen.render.gallery import draw_gallery, load_style_model

    px = parse_size(size)
    mapping_file = mapping if mapping is not None and Path(mapping).exists() else None
    check_output(out, force, kind="dir", inputs=[model, mapping_file])  # the gallery replaces `out`
    evidence = parse_pairs(given, "--given", example="hair_color=black")
    sampler = load_style_model(model)
    gallery = draw_gallery(
        sampler,
        out,
        n=n,
        seed=seed,
        given=evidence,
        mapping=mapping,
        size=px,
        unique=unique,
        columns=columns,
        force=force,
        model_name=str(model),
    )
    info(f"drew {len(gallery.styles)} avatars ({px[0]}x{px[1]}, mapping {gallery.mapping.name}) -> {out}")
    typer.echo(f"{out}/grid.png  {out}/report.html  {out}/styles.csv")


@app.command("render")
def render(
    style: list[str] = typer.Argument(
        ..., help="The style as attr=value pairs (names may hold spaces: quote them)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .png or .svg."),
    mapping: str | None = typer.Option(
        None, "--mapping", "-m", help="Mapping YAML or built-in name (english, course_ru); default: detected."
    ),
    size: str = typer.Option(
        "528x560", "--size", help="PNG size WIDTHxHEIGHT or a scale of 264x280 (1x, 2x)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
) -> None:
    """Draw one style, given as attr=value pairs, without a model."""
    require("avatargen avatars render", "avatargen")
    from avatargen.render.draw import write_style

    path = write_style(
        parse_pairs(style, "style", example="hair_color=black"), out, mapping, parse_size(size), force
    )
    typer.echo(str(path))


@app.command("mapping")
def mapping_cmd(
    name: str | None = typer.Argument(
        None,
        help=f"A mapping YAML file or a built-in name ({', '.join(BUILTIN_MAPPINGS)}); none: list the built-ins.",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Also check that this StyleModel's every attribute and value is mapped."
    ),
) -> None:
    """Validate a mapping file and print what each attribute value is drawn as (and the defaults)."""
    require("avatargen avatars mapping", "avatargen")
    from avatargen.render.gallery import defaults_line, load_style_model
    from avatargen.render.mapping import load_mapping

    if name is None:
        for builtin in BUILTIN_MAPPINGS:
            m = load_mapping(builtin)
            typer.echo(f"{builtin}: {m.description} ({', '.join(a.name for a in m.attributes.values())})")
        return
    m = load_mapping(name)
    if model is not None:
        sampler = load_style_model(model)
        m.check(sampler.values_)
        typer.echo(f"{model}: every attribute value is mapped by {m.source}")
    typer.echo(f"{m.name}: {m.description}  [{m.source}]")
    for row in m.rows():
        typer.echo(f"  {row['attribute']}: {row['value']} -> {row['parts']}")
    typer.echo(defaults_line(m))
