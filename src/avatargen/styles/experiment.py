"""The style generator's experiments as PNG plots with an HTML and a Markdown summary: value and
alpha effects on style probabilities, held-out likelihood by structure, mutual information, and
diversity/uniqueness versus sample size."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from avatargen.styles.data import StyleData, load_styles
from avatargen.styles.diversity import diversity_curve
from avatargen.styles.explain import Table, explain_tables, render_markdown
from avatargen.styles.model import StyleModel
from avatargen.styles.rules import Rules, load_rules
from sharedcore.atomic import atomic_dir, check_output, write_text
from sharedcore.console import info, progress
from sharedcore.figures import plt, save_figure
from sharedcore.report import HtmlReport

ALPHAS = [0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
SIZES = [10, 30, 100, 300, 1000, 3000, 10000, 30000]
CV_MAX_ROWS = 100_000


@dataclass
class StyleExperiment:
    """What ``run_experiment`` fitted, measured and wrote into ``folder``.

    ``model``: the main model (also ``model.json``); ``alpha_sweep``: one row per alpha (entropy,
    P(most probable style), P(zero-count values)); ``cross_validation``: held-out bits/style per
    structure and alpha (None for counts-only or tiny data); ``diversity`` / ``diversity_unique``:
    the diversity curves; ``best_style``: the most probable style; ``figures``: the PNG names written (and shown).
    """

    folder: Path
    report: Path
    model: StyleModel
    alpha_sweep: pd.DataFrame
    cross_validation: pd.DataFrame | None
    diversity: pd.DataFrame
    diversity_unique: pd.DataFrame
    best_style: dict[str, str]
    figures: list[str]


def subset(d: StyleData, idx: np.ndarray) -> StyleData:
    """Rows ``idx`` of a per-row data set, keeping the full vocabulary."""
    assert d.codes is not None
    codes = d.codes[idx]
    counts = {a: np.bincount(codes[:, j], minlength=len(d.values[a])) for j, a in enumerate(d.attributes)}
    return StyleData(d.source, d.attributes, d.values, counts, codes, "rows", d.description)


def cross_validate(
    d: StyleData,
    rules: Rules,
    alphas: list[float],
    structures: list[str],
    rng: np.random.Generator,
    folds: int = 5,
) -> pd.DataFrame:
    """Held-out mean log2-likelihood per style (bits, k-fold) for each structure and alpha.

    A structure 'chow-liu p<P' is Chow-Liu keeping only edges whose G-test p-value is below P.
    """
    assert d.codes is not None
    n = len(d.codes)
    idx = rng.permutation(n)[: min(n, CV_MAX_ROWS)]
    parts = np.array_split(idx, folds)
    rows = []
    grid = [(s, a) for s in structures for a in alphas]
    for s, a in progress(grid, desc="cross-validation"):
        scores = []
        for f in range(folds):
            train = np.concatenate([parts[g] for g in range(folds) if g != f])
            base, _, pv = s.partition(" p<")
            # learned structures see only the hard rules, not the declared dependencies
            rr = rules if base == "declared" else Rules(rules=rules.rules, source=rules.source)
            m = StyleModel(alpha=a, structure=base, rules=rr, edge_pvalue=float(pv) if pv else None)
            m.fit(subset(d, train))
            with np.errstate(divide="ignore"):
                scores.append(float(m.network_.log2_probability(d.codes[parts[f]]).mean()))
        rows.append({"structure": s, "alpha": a, "held-out bits/style": float(np.mean(scores))})
    return pd.DataFrame(rows)


def _plot_marginals(m: StyleModel, mle: StyleModel, path: Path) -> Path:
    k = len(m.attributes_)
    cols = 3
    nrows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.2 * nrows), squeeze=False)
    for ax, a in zip(axes.ravel(), m.attributes_, strict=False):
        vals = m.values_[a]
        x = np.arange(len(vals))
        ax.bar(x - 0.2, [mle.marginals()[a][v] for v in vals], 0.4, label="MLE (alpha 0)")
        ax.bar(x + 0.2, [m.marginals()[a][v] for v in vals], 0.4, label=f"alpha {m.alpha:g}")
        ax.set_xticks(x, vals, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"P({a})", fontsize=9)
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_value_effects(m: StyleModel, path: Path) -> tuple[Path, dict[str, str]]:
    """For each attribute value v: log10 of the most probable style with that value, relative to
    the most probable style overall (how far fixing v pushes the best style's probability)."""
    base = m.most_probable(1).iloc[0]
    style = {a: str(base[a]) for a in m.attributes_}
    k = len(m.attributes_)
    cols = 3
    nrows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.2 * nrows), squeeze=False)
    ref = np.log10(float(base["probability"]))
    for ax, a in zip(axes.ravel(), m.attributes_, strict=False):
        vals = m.values_[a]
        lp = []
        for v in vals:
            top = m.network_.most_probable(1, {m.attributes_.index(a): vals.index(v)})[1]
            lp.append(np.log10(top[0]) - ref if len(top) and top[0] > 0 else np.nan)
        y = np.array(lp)
        colors = ["tab:red" if v == style[a] else "tab:blue" for v in vals]
        ax.bar(np.arange(len(vals)), np.nan_to_num(y, nan=0.0), color=colors)
        for i in np.flatnonzero(np.isnan(y)):
            ax.text(i, 0, "x", ha="center", va="bottom", color="gray", fontsize=8)
        ax.set_xticks(np.arange(len(vals)), vals, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{a}: log10 max P(style | {a}=v) P({a}=v) / max P", fontsize=8)
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, path), style


def _plot_alpha(m_alpha: pd.DataFrame, cv: pd.DataFrame | None, path: Path) -> Path:
    ncol = 3 if cv is not None else 2
    fig, axes = plt.subplots(1, ncol, figsize=(5 * ncol, 3.6))
    x = m_alpha["alpha"].to_numpy() + 1e-3
    axes[0].semilogx(x, m_alpha["entropy (bits)"], "o-")
    axes[0].set(xlabel="alpha (+0.001)", ylabel="model entropy (bits)", title="entropy vs alpha")
    axes[1].semilogx(x, m_alpha["P(most probable style)"], "o-", label="most probable style")
    axes[1].semilogx(x, m_alpha["P(zero-count values)"], "s-", label="zero-count values (sum)")
    axes[1].set(xlabel="alpha (+0.001)", ylabel="probability", title="mass moved by smoothing")
    axes[1].legend(fontsize=7)
    if cv is not None:
        for s, g in cv.groupby("structure"):
            y = g["held-out bits/style"].to_numpy()
            ok = np.isfinite(y)
            axes[2].semilogx(g["alpha"].to_numpy()[ok] + 1e-3, y[ok], "o-", label=str(s))
        axes[2].set(xlabel="alpha (+0.001)", ylabel="held-out log2-likelihood / style", title="5-fold CV")
        axes[2].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_mi(m: StyleModel, path: Path) -> Path:
    mi = m.mutual_information_
    assert mi is not None
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(mi, cmap="viridis")
    k = len(m.attributes_)
    ax.set_xticks(range(k), m.attributes_, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), m.attributes_, fontsize=8)
    for c, p in m.parents_.items():
        if p is not None:
            i, j = m.attributes_.index(c), m.attributes_.index(p)
            for a, b in ((i, j), (j, i)):
                ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, ec="red", lw=2))
    fig.colorbar(im, ax=ax, label="mutual information (bits)")
    ax.set_title("pairwise MI; red boxes: tree edges")
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_diversity(plain: pd.DataFrame, uniq: pd.DataFrame, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for df, style, lab in ((plain, "o-", "sample"), (uniq, "s--", "--unique")):
        axes[0].semilogx(df["n"], df["distinct_fraction"], style, label=f"distinct fraction ({lab})")
        axes[0].semilogx(df["n"], df["novel_fraction"], style, label=f"novel vs training ({lab})")
        axes[1].semilogx(df["n"], df["empirical_entropy"], style, label=f"empirical entropy ({lab})")
    axes[1].semilogx(plain["n"], plain["miller_madow_entropy"], "^:", label="Miller-Madow (sample)")
    axes[1].axhline(float(plain["model_entropy"].iloc[0]), color="k", lw=1, label="model entropy")
    axes[1].semilogx(plain["n"], np.log2(plain["n"]), color="gray", lw=0.8, label="log2 n (all distinct)")
    axes[0].set(xlabel="sample size n", ylabel="fraction", title="uniqueness", ylim=(0, 1.05))
    axes[1].set(xlabel="sample size n", ylabel="bits", title="entropy")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _plot_style_probabilities(m: StyleModel, sample: pd.DataFrame, d: StyleData, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    with np.errstate(divide="ignore"):
        ax.hist(np.log10(sample["probability"]), bins=50, alpha=0.6, density=True, label="sampled styles")
        if d.codes is not None:
            tp = m.network_.probability(d.codes)
            ax.hist(np.log10(tp[tp > 0]), bins=30, alpha=0.6, density=True, label="training rows")
    ax.set(xlabel="log10 P(style)", ylabel="density", title="probability of styles")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def _df_rows(df: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in df.to_dict(orient="records")]


def run_experiment(
    data_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    seed: int = 0,
    alpha: float = 1.0,
    rules: str | os.PathLike[str] | Rules | None = None,
    force: bool = False,
    sizes: list[int] | None = None,
    alphas: list[float] | None = None,
) -> StyleExperiment:
    """Fit, explain and run every experiment on a styles data file; write PNGs, model.json,
    explain.md, report.md and report.html into ``out_dir`` (built atomically). Returns what was
    fitted and measured (``.report`` is the HTML path)."""
    check_output(out_dir, force, kind="dir", inputs=[data_path, rules])  # before fitting and cross-validating
    rng = np.random.default_rng(seed)
    d = load_styles(data_path)
    r = rules if isinstance(rules, Rules) or rules is None else load_rules(rules)
    r = r or Rules()
    sizes = sizes or SIZES
    alphas = alphas or ALPHAS
    m = StyleModel(alpha=alpha, structure="chow-liu", rules=r).fit(d)
    mle = StyleModel(alpha=0.0, structure="chow-liu", rules=r).fit(d)
    out = Path(out_dir)
    with atomic_dir(out, force=force) as tmp:
        info(f"experiment on {d.source}: {d.n_rows} people, {len(d.attributes)} attributes")
        m.save(tmp / "model.json")
        tables = explain_tables(m)
        write_text(tmp / "explain.md", render_markdown(tables))
        rep = HtmlReport(f"Style generator experiments: {Path(d.source).name}")
        md: list[str] = [f"# Style generator experiments: {Path(d.source).name}\n"]
        rep.paragraph(
            f"Data: {d.source} ({d.kind}, {d.n_rows} people, {len(d.attributes)} attributes). Seed {seed}. "
            f"Main model: Chow-Liu tree, alpha {alpha:g} (Dirichlet pseudo-count per table cell)."
        )
        rep.heading("Model")
        rep.table(tables[0].rows, tables[0].columns)
        rep.heading("Consistency report (law of total probability)")
        rep.table(tables[1].rows, tables[1].columns)
        md.append(render_markdown(tables[:2], level=2))

        rep.heading("Marginals: MLE vs smoothed")
        _plot_marginals(m, mle, tmp / "marginals.png")
        rep.image("marginals.png", f"P(value) per attribute by total probability; alpha 0 vs {alpha:g}")
        md.append("## Marginals\n\n![marginals](marginals.png)\n")

        rep.heading("How each attribute value shifts the probability of a style")
        _, best = _plot_value_effects(m, tmp / "value_effects.png")
        rep.paragraph(
            "For each value v of each attribute: the probability of the most probable style that has v, "
            "in orders of magnitude below the most probable style overall (red: the best style's value; "
            "x: impossible under the hard rules). "
            "Best style: " + ", ".join(f"{a}={v}" for a, v in best.items())
        )
        rep.image("value_effects.png", "log10 max P(style with attribute = v) - log10 max P(style)")
        md.append("## Value effects\n\n![value effects](value_effects.png)\n")

        rep.heading("Smoothing alpha")
        # zero counts in the data (values a hard rule added, like hair colour 'none', are not counted)
        ruled = {(rule.then_attr, rule.then_value) for rule in r.rules}
        zero_vals = [
            (a, i)
            for a in m.attributes_
            for i, c in enumerate(m.counts_[a])
            if c == 0 and (a, m.values_[a][i]) not in ruled
        ]
        arows = []
        for a in alphas:
            ma = StyleModel(alpha=a, structure="chow-liu", rules=r).fit(d)
            marg = ma.network_.marginals()
            arows.append(
                {
                    "alpha": a,
                    "entropy (bits)": ma.entropy(),
                    "P(most probable style)": float(ma.most_probable(1)["probability"].iloc[0]),
                    "P(zero-count values)": float(
                        sum(marg[ma.attributes_.index(at)][i] for at, i in zero_vals)
                    ),
                }
            )
        adf = pd.DataFrame(arows)
        cv = None
        if d.codes is not None and d.n_rows >= 20:
            structures = ["independent", "chow-liu", "chow-liu p<0.01"] + (
                ["declared"] if r.depends_on else []
            )
            cv = cross_validate(d, r, alphas, structures, rng)
        _plot_alpha(adf, cv, tmp / "alpha.png")
        rep.image("alpha.png", "entropy, probability mass moved, and held-out likelihood against alpha")
        rep.table(_df_rows(adf))
        md.append(
            "## Smoothing alpha\n\n![alpha](alpha.png)\n\n"
            + render_markdown([Table("alpha sweep", [str(c) for c in adf.columns], _df_rows(adf))], 3)
        )
        if cv is not None:
            best_row = cv.iloc[int(np.argmax(cv["held-out bits/style"].to_numpy()))]
            pivot = cv.pivot(index="alpha", columns="structure", values="held-out bits/style").reset_index()
            cv_text = (
                f"5-fold cross-validation (held-out mean log2-likelihood per style, higher is better; -inf "
                f"means an unseen combination got probability 0; 'chow-liu p<0.01' keeps only learned edges "
                f"whose G-test of independence has p < 0.01; learned structures see the hard rules but not "
                f"the declared dependencies). Best: {best_row['structure']} with alpha "
                f"{best_row['alpha']:g} ({best_row['held-out bits/style']:.3f} bits/style)."
            )
            rep.paragraph(cv_text)
            rep.table(_df_rows(pivot))
            md.append(cv_text + "\n")
            md.append(
                render_markdown(
                    [
                        Table(
                            "held-out log2-likelihood per style (5-fold CV)",
                            [str(c) for c in pivot.columns],
                            _df_rows(pivot),
                        )
                    ],
                    3,
                )
            )

        rep.heading("Mutual information between attributes")
        if m.mutual_information_ is not None:
            _plot_mi(m, tmp / "mutual_information.png")
            rep.image(
                "mutual_information.png", "plug-in MI (bits); the Chow-Liu tree maximises the MI of its edges"
            )
            mi_t = [t for t in tables if t.title == "Mutual information"]
            if mi_t:
                rep.table(mi_t[0].rows, mi_t[0].columns)
            md.append("## Mutual information\n\n![MI](mutual_information.png)\n")
        else:
            rep.paragraph("Counts-only data has no joint rows, so mutual information cannot be estimated.")

        rep.heading("Diversity and uniqueness vs sample size")
        plain = diversity_curve(m, sizes, rng)
        cap = min(max(sizes), max(m.n_styles() - len(m.training_keys_), 0))
        uniq = diversity_curve(m, [s for s in sizes if s <= cap], rng, unique=True)
        _plot_diversity(plain, uniq, tmp / "diversity.png")
        rep.image("diversity.png", "distinct and novel fractions, empirical vs model entropy")
        rep.table(_df_rows(plain))
        md.append(
            "## Diversity\n\n![diversity](diversity.png)\n\n"
            + render_markdown(
                [Table("diversity (plain sampling)", [str(c) for c in plain.columns], _df_rows(plain))], 3
            )
        )

        rep.heading("Probability of sampled styles")
        sample = m.sample(10_000, rng)
        _plot_style_probabilities(m, sample, d, tmp / "style_probabilities.png")
        rep.image("style_probabilities.png", "log10 P(style): 10,000 sampled styles vs the training rows")
        drawn = m.sample(20, rng)
        novel = m.sample(min(20, max(m.n_styles() - len(m.training_keys_), 0)), rng, unique=True)
        write_text(tmp / "samples.csv", drawn.to_csv(index=False, float_format="%.6g"))
        write_text(tmp / "samples_unique.csv", novel.to_csv(index=False, float_format="%.6g"))
        rep.heading("Sampled styles")
        rep.paragraph("20 styles drawn from the model (samples.csv), with their exact probabilities.")
        rep.table(_df_rows(drawn.astype({a: str for a in m.attributes_})))
        rep.paragraph(
            "20 distinct styles that are not among the training rows (--unique; samples_unique.csv)."
        )
        rep.table(_df_rows(novel.astype({a: str for a in m.attributes_})))
        md.append(
            "## Sampled styles\n\n"
            + render_markdown(
                [Table("20 sampled styles", [str(c) for c in drawn.columns], _df_rows(drawn))], 3
            )
            + "\n"
            + render_markdown(
                [Table("20 unique new styles", [str(c) for c in novel.columns], _df_rows(novel))], 3
            )
        )
        top = m.most_probable(10)
        rep.heading("The 10 most probable styles")
        rep.table(_df_rows(top.astype({a: str for a in m.attributes_})))
        md.append(
            "## Most probable styles\n\n"
            + render_markdown([Table("top 10", [str(c) for c in top.columns], _df_rows(top))], 3)
        )
        rep.paragraph("Full tables (marginals, conditionals, Bayes inverse tables): explain.md", "note")
        write_text(tmp / "report.md", "\n".join(md))
        rep.write(tmp / "report.html")
        figures = sorted(rep.images)  # every PNG written is on the page
    return StyleExperiment(out, out / "report.html", m, adf, cv, plain, uniq, best, figures)
