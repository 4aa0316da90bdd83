"""Speed of the style generator against pgmpy, measured in the same run on the same data.

Data: 1,000,000 rows x 12 attributes (2-10 values each) drawn from a seeded random tree network;
both libraries get the same pandas DataFrame (categorical columns). Prints a table with rates and
ratios. Targets (issue 3): fit < 1 s, sampling >= 1,000,000 styles/s, >= 50x pgmpy's sampling rate.

    python benchmarks/bench_styles.py [--rows 1000000] [--samples 1000000] [--pgmpy-fit-rows 200000]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from avatargen.styles.model import StyleModel
from avatargen.styles.network import TreeNetwork
from avatargen.styles.sample import ancestral_codes


def random_tree(n_attr: int, rng: np.random.Generator) -> TreeNetwork:
    """A random tree over n_attr attributes with 2-10 values and Dirichlet(0.7) tables."""
    cards = rng.integers(2, 11, n_attr)
    parents = np.array([-1] + [int(rng.integers(0, v)) for v in range(1, n_attr)])
    cpts = [
        rng.dirichlet(np.full(cards[v], 0.7), size=1 if parents[v] < 0 else cards[parents[v]])
        for v in range(n_attr)
    ]
    return TreeNetwork(parents, cpts)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--attributes", type=int, default=12)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--pgmpy-samples", type=int, default=1_000_000, help="pgmpy is timed on this many styles")
    ap.add_argument(
        "--pgmpy-fit-rows",
        type=int,
        default=200_000,
        help="pgmpy fit is timed on this many rows, then scaled",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    rng = np.random.default_rng(args.seed)
    net = random_tree(args.attributes, rng)
    names = [f"attr{i:02d}" for i in range(args.attributes)]
    codes = ancestral_codes(net, args.rows, rng)
    df = pd.DataFrame(
        {
            a: pd.Categorical.from_codes(codes[:, i], categories=[f"v{j}" for j in range(net.cards[i])])
            for i, a in enumerate(names)
        }
    )
    df_str = df.astype(str)
    print(
        f"data: {args.rows:,} rows x {args.attributes} attributes (values per attribute {net.cards}), "
        f"seeded random tree; cpu count {os.cpu_count()}"
    )
    rows: list[tuple[str, str, str, str]] = []

    t_fit, model = timed(lambda: StyleModel(alpha=1.0, structure="chow-liu").fit(df), repeat=3)
    true_edges = {frozenset((v, int(p))) for v, p in enumerate(net.parents) if p >= 0}
    got = {frozenset((names.index(c), names.index(p))) for c, p in model.parents_.items() if p}
    t_fit_str, _ = timed(lambda: StyleModel(alpha=1.0, structure="chow-liu").fit(df_str), repeat=1)
    declared = {"depends_on": {c: p for c, p in model.parents_.items() if p}}
    t_fit_decl, _ = timed(
        lambda: StyleModel(alpha=1.0, structure="declared", rules=declared).fit(df), repeat=3
    )

    from pgmpy.estimators import MaximumLikelihoodEstimator, TreeSearch
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.sampling import BayesianModelSampling

    # pgmpy's Chow-Liu search is slow (minutes at 1e6 rows): timed on a prefix and scaled linearly
    pdf = df.iloc[: args.pgmpy_fit_rows]
    scale = args.rows / len(pdf)
    t_pg_tree, dag = timed(
        lambda: TreeSearch(pdf, root_node=names[0], n_jobs=1).estimate(show_progress=False)
    )
    bn = DiscreteBayesianNetwork(list(dag.edges()))
    t_pg_mle, cpds = timed(lambda: MaximumLikelihoodEstimator(bn, df).get_parameters(), repeat=3)
    bn.add_cpds(*cpds)
    pg_fit = t_pg_tree * scale + t_pg_mle
    pg_decl = t_pg_mle
    note = "" if scale == 1 else f" (tree search timed on {len(pdf):,} rows, scaled x{scale:g})"
    rows.append(
        (
            "fit chow-liu (structure + tables)",
            f"{t_fit:.3f} s",
            f"{pg_fit:.2f} s{note}",
            f"{pg_fit / t_fit:.0f}x",
        )
    )
    rows.append(("fit, string columns (incl. encoding)", f"{t_fit_str:.3f} s", "", ""))
    rows.append(
        (
            "fit tables, known structure",
            f"{t_fit_decl:.3f} s",
            f"{pg_decl:.2f} s",
            f"{pg_decl / t_fit_decl:.0f}x",
        )
    )

    g = np.random.default_rng(1)
    t_s, sample = timed(lambda: model.sample(args.samples, g), repeat=3)
    rate = args.samples / t_s
    ps = BayesianModelSampling(bn)
    t_pg_s, _ = timed(
        lambda: ps.forward_sample(size=args.pgmpy_samples, seed=1, show_progress=False, n_jobs=1)
    )
    pg_rate = args.pgmpy_samples / t_pg_s
    rows.append(
        (
            f"sample {args.samples:,} styles + probabilities",
            f"{t_s:.3f} s = {rate / 1e6:.2f} M styles/s",
            f"{pg_rate / 1e6:.3f} M styles/s (forward_sample of {args.pgmpy_samples:,}, no probabilities)",
            f"{rate / pg_rate:.0f}x",
        )
    )
    given = {names[-1]: "v0"}
    t_c, _ = timed(lambda: model.sample(args.samples, g, given=given), repeat=3)
    rows.append(
        (
            f"sample {args.samples:,} given {names[-1]}=v0 (exact)",
            f"{args.samples / t_c / 1e6:.2f} M styles/s",
            "",
            "",
        )
    )
    n_u = min(args.samples, 100_000)
    t_u, _ = timed(lambda: model.sample(n_u, g, unique=True), repeat=1)
    rows.append((f"sample {n_u:,} unique novel styles", f"{n_u / t_u / 1e6:.2f} M styles/s", "", ""))
    t_p, _ = timed(lambda: model.log2_probability(sample.iloc[:100_000]), repeat=3)
    rows.append(
        ("probability of 100,000 given styles (from names)", f"{1e5 / t_p / 1e6:.2f} M styles/s", "", "")
    )

    w = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("task", "avatargen", "pgmpy 1.1.2", "ratio")
    w = [max(a, len(b)) for a, b in zip(w, head, strict=True)]
    print("  ".join(h.ljust(x) for h, x in zip(head, w, strict=True)))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(c.ljust(x) for c, x in zip(r, w, strict=True)))
    print(
        f"chow-liu tree = generating tree: {got == true_edges}; pgmpy tree = ours: "
        f"{ {frozenset(e) for e in dag.edges()} == {frozenset((c, p)) for c, p in model.parents_.items() if p} }"
    )
    print(
        f"targets: fit < 1 s: {t_fit < 1}; sampling >= 1 M/s: {rate >= 1e6}; >= 50x pgmpy: {rate / pg_rate >= 50}"
    )


if __name__ == "__main__":
    main()
