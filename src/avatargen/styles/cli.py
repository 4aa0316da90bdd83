"""`avatargen styles ...` commands: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from avatargen.choices import STRUCTURES
from sharedcore.atomic import check_output, write_text
from sharedcore.cli_params import parse_pairs
from sharedcore.console import info
from sharedcore.errors import UserError
from sharedcore.extras import require
from sharedcore.validate import seed_option

# The style library (pandas, scipy: the `avatargen` extra) is imported inside the commands, after
# `require`, so that the CLI shell starts on the core dependencies (sharedcore.extras).
if TYPE_CHECKING:
    import pandas as pd

    from avatargen.styles.model import StyleModel

app = typer.Typer(
    help="Learn style probabilities (MLE/Bayes) from a styles table and sample new styles.",
    no_args_is_help=True,
)

FORMATS = ("table", "json", "csv")


def fit_model(
    data: Path,
    rules: Path | None = None,
    alpha: float = 1.0,
    structure: str = "chow-liu",
    edge_pvalue: float | None = None,
) -> StyleModel:
    """Load ``data`` (and ``rules``) and fit a StyleModel: what `styles fit` does before saving."""
    from avatargen.styles.data import load_styles
    from avatargen.styles.model import StyleModel

    return StyleModel(alpha=alpha, structure=structure, rules=rules, edge_pvalue=edge_pvalue).fit(
        load_styles(data)
    )


def emit(text: str, output: Path | None, force: bool, what: str) -> None:
    """Print ``text`` to stdout, or write it atomically to ``output`` (refusing to overwrite without force)."""
    if output is None:
        print(text, end="")
    else:
        write_text(output, text, force=force)
        info(f"wrote {what} to {output}")


def styles_table(df: pd.DataFrame, fmt: str) -> str:
    """Render sampled styles (a DataFrame with a probability column) as table, JSON or CSV text."""
    from avatargen.styles.explain import Table, render_text

    if fmt == "json":
        return json.dumps(df.to_dict(orient="records"), ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return df.to_csv(index=False, float_format="%.6g")
    rows = [{str(k): v for k, v in r.items()} for r in df.to_dict(orient="records")]
    for r in rows:
        r["probability"] = f"{r['probability']:.4g}"
    return render_text([Table(f"{len(df)} styles", [str(c) for c in df.columns], rows)]).split("\n", 1)[1]


@app.command("fit")
def fit_cmd(
    data: Path = typer.Argument(..., help="Counts JSON, or a CSV/TSV/Parquet table with one row per person."),
    output: Path = typer.Option(..., "-o", "--output", help="Model file to write (JSON)."),
    rules: Path | None = typer.Option(None, "--rules", help="YAML/JSON file: depends_on and hard rules."),
    alpha: float = typer.Option(1.0, "--alpha", help="Dirichlet pseudo-count per table cell; 0 = pure MLE."),
    structure: str = typer.Option("chow-liu", "--structure", help=f"One of: {', '.join(STRUCTURES)}."),
    edge_pvalue: float | None = typer.Option(
        None, "--edge-pvalue", help="chow-liu: drop learned edges whose independence G-test p exceeds this."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Fit a style model (MLE + Dirichlet smoothing, tree structure) and save it as JSON."""
    require("avatargen styles fit", "avatargen")
    check_output(output, force, kind="file", inputs=[data, rules])
    model = fit_model(data, rules, alpha, structure, edge_pvalue)
    model.save(output, force=force)
    edges = [f"{p}->{c}" for c, p in model.parents_.items() if p is not None]
    info(
        f"fitted {len(model.attributes_)} attributes on {model.n_rows_} people ({model.data_kind_}); "
        f"edges: {', '.join(edges) or 'none'}; entropy {model.entropy():.3f} bits; "
        f"{model.n_styles():,} of {model.n_possible_styles:,} value combinations have positive probability"
    )
    for n in model.notes_:
        if n.level != "ok":
            info(f"{n.level}: {n.text}")
    info(f"wrote {output}")


@app.command("sample")
def sample_cmd(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from `styles fit`."),
    n: int = typer.Option(10, "-n", help="Number of styles."),
    given: list[str] = typer.Option([], "--given", help="Evidence attribute=value (repeatable)."),
    unique: bool = typer.Option(
        False, "--unique", help="No repeats and no styles seen in the training rows."
    ),
    most_probable: bool = typer.Option(
        False,
        "--most-probable",
        help="The n most probable styles (exact, best first) instead of random ones.",
    ),
    fmt: str = typer.Option("table", "--format", help="table, json or csv."),
    seed: int = typer.Option(0, "--seed", callback=seed_option, help="Random seed."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Sample styles with their exact probabilities, optionally conditioned and unique."""
    require("avatargen styles sample", "avatargen")
    import numpy as np

    from avatargen.styles.model import StyleModel

    if fmt not in FORMATS:
        raise UserError(f"--format '{fmt}' is unknown; choose one of {', '.join(FORMATS)}")
    if output is not None:
        check_output(output, force, kind="file", inputs=[model_path])
    model = StyleModel.load(model_path)
    ev = parse_pairs(given, "--given")
    if most_probable:
        df = model.most_probable(n, given=ev)
    else:
        df = model.sample(n, np.random.default_rng(seed), given=ev, unique=unique)
    emit(styles_table(df, fmt), output, force, f"{len(df)} styles")


@app.command("prob")
def prob_cmd(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from `styles fit`."),
    style: list[str] = typer.Argument(
        ..., help="attribute=value pairs (all attributes, or some for a marginal)."
    ),
    query: str | None = typer.Option(
        None, "--query", help="Print P(QUERY | the given pairs) for every value of QUERY (Bayes' rule)."
    ),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Probability of a style with its chain-rule breakdown, a marginal, or a Bayes query."""
    require("avatargen styles prob", "avatargen")
    from avatargen.styles.explain import Table, render_text
    from avatargen.styles.model import StyleModel

    if fmt not in ("table", "json"):
        raise UserError(f"--format '{fmt}' is unknown; choose table or json")
    model = StyleModel.load(model_path)
    pairs = parse_pairs(style, "style")
    if query is not None:
        post = model.posterior(query, pairs)
        if fmt == "json":
            print(
                json.dumps({"query": query, "given": pairs, "posterior": post}, ensure_ascii=False, indent=1)
            )
            return
        desc = ", ".join(f"{a}={v}" for a, v in pairs.items())
        rows = [{"value": k, f"P({query} | {desc})": v} for k, v in post.items()]
        print(render_text([Table(f"P({query} | {desc})", list(rows[0]), rows)]).split("\n", 1)[1], end="")
        return
    p = model.probability(pairs)
    full = len(pairs) == len(model.attributes_)
    if fmt == "json":
        out: dict[str, object] = {"style": pairs, "probability": p}
        if full:
            out["breakdown"] = model.breakdown(pairs).to_dict(orient="records")
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if full:
        bd = model.breakdown(pairs)
        records = [{str(k): v for k, v in r.items()} for r in bd.to_dict(orient="records")]
        print(
            render_text([Table("chain rule", [str(c) for c in bd.columns], records)]).split("\n", 1)[1],
            end="",
        )
        print(f"P(style) = product = {p:.6g}")
    else:
        print(
            f"P({', '.join(f'{a}={v}' for a, v in pairs.items())}) = {p:.6g}  (sum over the other attributes)"
        )


@app.command("explain")
def explain_cmd(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from `styles fit`."),
    fmt: str = typer.Option("text", "--format", help="text or markdown."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Marginal and conditional tables, Bayes inverse tables, mutual information, consistency report."""
    require("avatargen styles explain", "avatargen")
    from avatargen.styles.explain import explain_tables, render_markdown, render_text
    from avatargen.styles.model import StyleModel

    if fmt not in ("text", "markdown"):
        raise UserError(f"--format '{fmt}' is unknown; choose text or markdown")
    if output is not None:
        check_output(output, force, kind="file", inputs=[model_path])
    tables = explain_tables(StyleModel.load(model_path))
    emit(render_text(tables) if fmt == "text" else render_markdown(tables), output, force, "the tables")


@app.command("experiment")
def experiment_cmd(
    data: Path = typer.Argument(..., help="Counts JSON, or a CSV/TSV/Parquet table with one row per person."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Output folder (PNG plots, report.html, report.md)."
    ),
    rules: Path | None = typer.Option(None, "--rules", help="YAML/JSON file: depends_on and hard rules."),
    alpha: float = typer.Option(1.0, "--alpha", help="Dirichlet pseudo-count of the main model."),
    seed: int = typer.Option(0, "--seed", callback=seed_option, help="Random seed."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
) -> None:
    """Experiments: value and alpha effects, mutual information, structures, diversity vs sample size."""
    require("avatargen styles experiment", "avatargen")
    from avatargen.styles.experiment import run_experiment

    result = run_experiment(data, output, seed=seed, alpha=alpha, rules=rules, force=force)
    info(f"wrote {result.report}")
