"""Score functions compared on trained runs without test labels: validation normals (the run's own
held-out split is not stored, so the last 1,000 train/ images stand in: they were 90% seen in training)
against known spills (proliv/) and procedural spill looks pasted onto held-out normals, plain and under
simulated shift.

Run: ``python research/select_spill_score.py RUN... [--shared ../shared]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    a = ap.parse_args()
    root = a.shared / "data" / "spills"
    if not root.is_dir():
        print(f"real data not found at {root}: skipping")
        return
    os.environ.setdefault("SPILLGUARD_THREADS", "1")
    from sklearn.metrics import roc_auc_score

    from spillguard.compute import limit_threads
    from spillguard.data import load_sources, training_sources
    from spillguard.data.camera_shift import perturb
    from spillguard.data.spill_looks import paste_spills
    from spillguard.detector import SpillDetector

    limit_threads()

    ds = load_sources(training_sources(root), (32, 48))
    normals, proliv = ds.images[ds.labels == 0][-1000:], ds.images[ds.labels == 1]
    rng = np.random.default_rng(0)
    sets = {
        "proliv": proliv,
        "speckled": paste_spills(normals[:300], rng, "speckled"),
        "flooded": paste_spills(normals[300:600], rng, "flooded"),
    }
    print(f"{'run':<12} {'score':<16}" + "".join(f" {k:>9} {'shift ' + k[:3]:>9}" for k in sets))
    for run in a.runs:
        det = SpillDetector.load(run)
        shifted_normals = perturb(normals, np.random.default_rng(1))
        for score, smooth in (("mse", 16), ("local", 5), ("local", 16), ("combined", 5), ("combined", 16)):
            det.config.score, det.config.smooth = score, smooth
            sn, ssn = det.score_samples(normals), det.score_samples(shifted_normals)
            cells = []
            for imgs in sets.values():
                sp, ssp = det.score_samples(imgs), det.score_samples(perturb(imgs, np.random.default_rng(2)))
                y = np.r_[np.zeros(len(sn)), np.ones(len(sp))]
                cells.append(
                    f" {roc_auc_score(y, np.r_[sn, sp]):>9.4f} {roc_auc_score(y, np.r_[ssn, ssp]):>9.4f}"
                )
            print(f"{run.name:<12} {score + ' s' + str(smooth):<16}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
