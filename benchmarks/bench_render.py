"""Rendering speed: styles -> PNG avatars per second (target: at least 20 PNG/s).

Baseline, measured in the same run: the straightforward path, python_avatars' SVG rasterised by resvg
as it is (with its colour-layer masks), one thread, at the course size 528x560. Our path simplifies
the SVG (masks, shadows) and rasterises on min(2, CPUs) threads. Styles: the classic Avataaars values drawn uniformly
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


def rate(fn: Callable[[], object], n: int, repeats: int = 2) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU second) of ``fn`` handling ``n`` items; best of ``repeats``.

    CPU seconds count every thread of this process, so the second figure is what one free core does,
    whatever else the machine is running.
    """
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return n / wall, n / cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=40, help="styles per measurement")
    args = ap.parse_args()
    n = args.n
    m = load_mapping("english")
    styles = sample_collection_styles(n, np.random.default_rng(0))
    records = styles.to_dict("records")
    plain = [style_svg(s, m, simplify=False) for s in records]
    flat = [style_svg(s, m) for s in records]
    big, small = (528, 560), (264, 280)

    rows: list[tuple[str, tuple[float, float]]] = [
        (
            "baseline: python_avatars SVG -> resvg PNG 528x560, 1 thread",
            rate(lambda: svgs_to_pngs(plain, big, 1), n),
        ),
        (
            "SVG text only (python_avatars + simplify)",
            rate(lambda: [style_svg(s, m) for s in records], n),
        ),
        ("simplified SVG -> PNG 528x560, 1 thread", rate(lambda: svgs_to_pngs(flat, big, 1), n)),
        ("simplified SVG -> PNG 528x560, 2 threads", rate(lambda: svgs_to_pngs(flat, big, 2), n)),
        (
            "render_styles 528x560 (style -> RGBA image, end to end)",
            rate(lambda: render_styles(styles, m, big), n),
        ),
        (
            "render_styles 264x280 (style -> RGBA image, end to end)",
            rate(lambda: render_styles(styles, m, small), n),
        ),
    ]
    base, base_cpu = rows[0][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpus = os.cpu_count() or 1
    print(f"# bench_render: {n} styles (classic Avataaars values, seed 0); CPUs {cpus}, load {load:.1f}")
    print(f"{'measurement':<60} {'per s':>7} {'x base':>7} {'per CPU-s':>10} {'x base':>7}")
    for name, (r, rc) in rows:
        print(f"{name:<60} {r:7.1f} {r / base:6.2f}x {rc:10.1f} {rc / base_cpu:6.2f}x")
    for name, (r, rc) in rows[-2:]:
        print(
            f"target >= {TARGET:.0f} PNG/s, {name.split(' (')[0]}: {r:.1f}/s wall here "
            f"({'meets' if r >= TARGET else 'misses'}); one free core does {rc:.1f}/s "
            f"({'meets' if rc >= TARGET else 'misses'}; CPU-time rate, unaffected by other load)"
        )


if __name__ == "__main__":
    main()
