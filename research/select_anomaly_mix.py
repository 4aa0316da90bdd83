"""How the default mix of synthetic anomaly looks was chosen: the untuned default trained with each
candidate mix, judged without any test image. Criteria: ROC AUC of held-out validation normals
against held-out known anomalies (the check half of proliv/ or anomalous/, never trained on),
against procedural looks pasted onto held-out normals (pit speckled/flooded, generic), each plain and
under simulated shift (spillguard.robustness), and the gate's held-out synthetic AUC.

Run: ``python research/select_anomaly_mix.py DATA [--mixes pit default generic] [--max-train N]
[--time-budget S]`` on a training folder (e.g. ``spillguard synth --domain surface``'s output or
``../shared/data/spills``); only its training images (normals + known anomalies) are read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

COLS = ["known", "known_shifted", "generic", "generic_shifted", "speckled", "flooded", "mean"]


def main() -> None:
    from spillguard.data.anomaly_looks import DEFAULT_MIX, GENERIC_MIX, PIT_MIX

    mixes = {
        "pit": PIT_MIX,
        "default": DEFAULT_MIX,
        "generic": GENERIC_MIX,
        "pit25": {"pit": 0.25, **{k: 0.75 * v for k, v in GENERIC_MIX.items()}},
        "pit75": {"pit": 0.75, **{k: 0.25 * v for k, v in GENERIC_MIX.items()}},
    }
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", type=Path)
    ap.add_argument("--mixes", nargs="*", default=["pit", "default", "generic"], choices=list(mixes))
    ap.add_argument("--max-train", type=int, default=None)
    ap.add_argument("--time-budget", type=float, default=None, help="seconds (default: the config's)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.environ.setdefault("SPILLGUARD_THREADS", "1")
    from spillguard.compute import limit_threads
    from spillguard.config import TrainConfig
    from spillguard.data import load_sources, training_sources
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.train import validate
    from spillguard.training.input_size import choose_input_size, image_sizes

    limit_threads()
    src = training_sources(a.data)
    base = TrainConfig(seed=a.seed, max_train=a.max_train)
    if a.time_budget:
        base = TrainConfig(**{**base.to_dict(), "time_budget": a.time_budget})
    size = choose_input_size(
        image_sizes([p for p, y in zip(src.paths, src.labels, strict=True) if y == 0]), base.input_pixels
    )
    ds = load_sources(src, (size.height, size.width))
    normals, known = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    print(f"{a.data}: {len(normals)} normals, {len(known)} known anomalies; {size.describe()}")
    print(
        f"{'mix':<9} {'val AUC':>8} {'gate syn':>8}"
        + "".join(f" {c[:13]:>13}" for c in COLS)
        + "  epochs  train s"
    )
    for name in a.mixes:
        cfg = TrainConfig(**{**base.to_dict(), "anomalies": mixes[name]})
        t0 = time.perf_counter()
        det = SpillDetector(cfg).fit(normals, known)
        v = validate(det, normals, known, cfg.seed)
        rob = v["robustness"]
        print(
            f"{name:<9} {v['roc_auc']:>8.4f} {v['synthetic']['roc_auc']:>8.4f}"
            + "".join(f" {rob.get(c, float('nan')):>13.4f}" for c in COLS)
            + f"  {len(det.history_):>6}  {det.train_seconds_:>7.0f}  (wall {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
