"""How the shipped default config was chosen: variants trained on train/, judged on validation
normals vs known spills (proliv/), plain and under simulated shift (spillguard.shift). No test image.

Run: ``python benchmarks/select_spill_config.py [--shared ../shared] [--max-train 5000] [--epochs 15]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

VARIANTS: dict[str, dict[str, object]] = {
    "base (local score)": {},
    "mse score": {"score": "mse"},
    "lighting aug": {"augment": "lighting"},
    "lighting+shift aug": {"augment": "lighting+shift"},
    "per-image illumination": {"illumination": "per_image"},
    "latent 8": {"model_params": {"latent": 8}},
    "latent 32": {"model_params": {"latent": 32}},
}


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
    from spillguard.config import TrainConfig
    from spillguard.data import load_sources, training_sources
    from spillguard.detector import SpillDetector

    ds = load_sources(training_sources(root), (32, 48))
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    print(
        f"train/ {len(normals)} normals (using {a.max_train}), proliv/ {len(spills)} spills; epochs <= {a.epochs}"
    )
    print(
        f"{'variant':<26} {'val AUC':>8} {'shifted AUC':>11} {'TPR@bal':>8} {'TNR@bal':>8} {'TNR@fpr':>8} {'epochs':>6} {'s':>6}"
    )
    for name, over in VARIANTS.items():
        if a.only and name not in a.only:
            continue
        cfg = TrainConfig(
            **{**TrainConfig().to_dict(), "max_train": a.max_train, "epochs": a.epochs, "patience": 4, **over}
        )
        t0 = time.perf_counter()
        det = SpillDetector(cfg).fit(normals, spills)
        v = det.validation_
        bal, fpr = v["at_threshold"]["balanced"], v["at_threshold"]["fpr"]
        print(
            f"{name:<26} {v['roc_auc']:>8.4f} {v['shifted_roc_auc']:>11.4f} {bal['tpr']:>8.3f} {bal['tnr']:>8.3f} "
            f"{fpr['tnr']:>8.3f} {len(det.history_):>6} {time.perf_counter() - t0:>6.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
