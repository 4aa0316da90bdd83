"""How the shipped default config was chosen: variants trained on train/ (a 5,000-image subset, 15
epochs), judged without any test image by spillguard.metrics.robustness: ROC AUC of held-out validation
normals against known spills (proliv/) and procedural spill looks (speckled, flooded) pasted onto
held-out normals, each plain and under simulated camera/lighting shift; the criterion is the mean.

Run: ``python research/select_spill_config.py [--shared ../shared] [--only NAME...]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

PLAIN = {"augment": "none", "smooth": 5, "score": "local"}  # the first baseline
VARIANTS: dict[str, dict[str, object]] = {
    "plain, local s5": PLAIN,
    "plain, mse": {**PLAIN, "score": "mse"},
    "plain, local s16": {**PLAIN, "smooth": 16},
    "plain, combined s16": {**PLAIN, "score": "combined", "smooth": 16},
    "lighting aug, s5": {**PLAIN, "augment": "lighting"},
    "lighting+shift aug, s5": {**PLAIN, "augment": "lighting+shift"},
    "lighting+shift aug, s16": {**PLAIN, "augment": "lighting+shift", "smooth": 16},
    "lighting0.1+shift, s16": {**PLAIN, "augment": "lighting+shift", "augment_strength": 0.1, "smooth": 16},
    "shift aug, s16": {**PLAIN, "augment": "shift", "smooth": 16},
    "per-image illumination": {**PLAIN, "illumination": "per_image"},
    "latent 8": {**PLAIN, "model_params": {"latent": 8}},
    "latent 32": {**PLAIN, "model_params": {"latent": 32}},
}
COLS = ["known", "known_shifted", "speckled", "speckled_shifted", "flooded", "flooded_shifted", "mean"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--max-train", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    a = ap.parse_args()
    root = a.shared / "data" / "spills"
    if not root.is_dir():
        print(f"real data not found at {root}: nothing to select on; skipping")
        return
    os.environ.setdefault("SPILLGUARD_THREADS", "1")
    from spillguard.compute import limit_threads
    from spillguard.config import PLAIN_AE, TrainConfig
    from spillguard.data import load_sources, training_sources
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.train import validate

    limit_threads()

    ds = load_sources(training_sources(root), (32, 48))
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    print(
        f"train/ {len(normals)} normals (using {a.max_train}), proliv/ {len(spills)} spills; epochs <= {a.epochs}"
    )
    heads = "".join(f" {c.replace('_shifted', '/sh')[:11]:>11}" for c in COLS)
    print(f"{'variant':<26} {'val AUC':>8}{heads} {'epochs':>6} {'s':>5}")
    for name, over in VARIANTS.items():
        if a.only and name not in a.only:
            continue
        base = TrainConfig(**PLAIN_AE).to_dict()  # the AE family (the package default is the spill head)
        cfg = TrainConfig(**{**base, "max_train": a.max_train, "epochs": a.epochs, "patience": 4, **over})
        t0 = time.perf_counter()
        det = SpillDetector(cfg).fit(normals, spills)
        v = validate(det, normals, spills, cfg.seed)
        rob = v["robustness"]
        cells = "".join(f" {rob[c]:>11.4f}" for c in COLS)
        print(
            f"{name:<26} {v['roc_auc']:>8.4f}{cells} {len(det.history_):>6} {time.perf_counter() - t0:>5.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
