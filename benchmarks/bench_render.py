"""Rendering speed: styles -> PNG avatars per second (target: at least 20 PNG/s).

Baseline, measured in the same run: the straightforward path, python_avatars' SVG rasterised by resvg
as it is (with its colour-layer masks), one thread, at the course size 528x560. Our path flattens the
masks and rasterises on min(2, CPUs) threads. Styles: the classic Avataaars values drawn uniformly
(``avatargen.render.draw.sample_collection_styles``, seed 0); no external data.

    python benchmarks/bench_render.py [-n 40]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from avatargen.render.draw import (
    render_styles,
    sample_collection_styles,
    style_svg,
    svgs_to_pngs,
)
from avatargen.render.mapping import load_mapping

TARGET = 20.0


def rate(fn: Callable[[], object], n: int, repeats: int = 2) -> float:
    """Items per second of ``fn`` (which handles ``n`` items): the best of ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=40, help="styles per measurement")
    args = ap.parse_args()
    n = args.n
    m = load_mapping("english")
    styles = sample_collection_styles(n, np.random.default_rng(0))
    records = styles.to_dict("records")
    plain = [style_svg(s, m, flatten=False) for s in records]
    flat = [style_svg(s, m) for s in records]
    big, small = (528, 560), (264, 280)

    rows: list[tuple[str, float]] = [
        (
            "baseline: python_avatars SVG -> resvg PNG 528x560, 1 thread",
            rate(lambda: svgs_to_pngs(plain, big, 1), n),
        ),
        (
            "SVG text only (python_avatars + mask flattening)",
            rate(lambda: [style_svg(s, m) for s in records], n),
        ),
        ("flattened SVG -> PNG 528x560, 1 thread", rate(lambda: svgs_to_pngs(flat, big, 1), n)),
        ("flattened SVG -> PNG 528x560, 2 threads", rate(lambda: svgs_to_pngs(flat, big, 2), n)),
        (
            "render_styles 528x560 (style -> RGBA image, end to end)",
            rate(lambda: render_styles(styles, m, big), n),
        ),
        (
            "render_styles 264x280 (style -> RGBA image, end to end)",
            rate(lambda: render_styles(styles, m, small), n),
        ),
    ]
    base = rows[0][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# bench_render: {n} styles (classic Avataaars values, seed 0); CPUs {os.cpu_count()}, load {load:.1f}"
    )
    print(f"{'measurement':<60} {'per s':>8} {'x baseline':>11}")
    for name, r in rows:
        print(f"{name:<60} {r:8.1f} {r / base:10.2f}x")
    for name, r in rows[-2:]:
        verdict = "meets" if r >= TARGET else "MISSES"
        print(f"target >= {TARGET:.0f} PNG/s: {name.split(' (')[0]} {verdict} it ({r:.1f}/s)")


if __name__ == "__main__":
    main()
