"""Scoring speed of the new-line default (issue 20): images per second of ``predict_paths`` in-process
(decode 250x630 JPEGs + score) for a kolektor run folder, beside the pre-issue-20 model
(conv_ae_head) at the same input size as the named baseline, measured in the same run.

Usage: .venv/bin/python benchmarks/bench_newline.py RUN [BASELINE_RUN] [--repeat 8]
(RUN: e.g. runs/newline/kolektor_default from research/newline.py). Skips when ../shared is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMGS = REPO.parent / "shared" / "data" / "kolektor" / "test" / "imgs"


def rate(run: Path, paths: list[str], repeat: int) -> tuple[float, float]:
    """(images/s of predict_paths, images/s of score_samples on decoded images), best of ``repeat``."""
    from spillguard.data import load_images
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.predict import predict_paths

    best_p = best_s = 0.0
    det = SpillDetector.load(run)
    images, _, _ = load_images(paths, det.input_size)
    for _ in range(repeat):
        t0 = time.perf_counter()
        predict_paths(run, paths, backend="torch")
        best_p = max(best_p, len(paths) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        det.score_samples(images)
        best_s = max(best_s, len(images) / (time.perf_counter() - t0))
    return best_p, best_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("baseline", type=Path, nargs="?")
    ap.add_argument("--repeat", type=int, default=8)
    a = ap.parse_args()
    if not IMGS.is_dir():
        print(f"skipped: {IMGS} is absent")
        return
    from spillguard.compute import limit_threads

    limit_threads()
    paths = [str(p) for p in sorted(IMGS.iterdir())]
    print(f"{len(paths)} kolektor test images (about 250x630), best of {a.repeat}")
    print("| run | predict_paths img/s | score_samples img/s | ratio vs baseline |")
    print("|---|---|---|---|")
    base = rate(a.baseline, paths, a.repeat) if a.baseline else None
    if base:
        print(f"| {a.baseline} (baseline) | {base[0]:.0f} | {base[1]:.0f} | 1.00 |")
    p, s = rate(a.run, paths, a.repeat)
    ratio = f"{p / base[0]:.2f}" if base else "-"
    print(f"| {a.run} | {p:.0f} | {s:.0f} | {ratio} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
