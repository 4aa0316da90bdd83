"""Spill detector speed and memory: JPEG decoding (baseline), loading, scoring, training, peak memory.

Run: ``python benchmarks/bench_spill.py [--full] [--shared ../shared]``. Each phase runs in its own
process so that its peak memory (max RSS) is its own. Uses ../shared/data/spills when present, else a
synthetic data set (spillguard synth), and says which. ``--full`` trains the shipped default config on
all training images (minutes); without it, training is timed on 3 epochs and extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _normals(root: Path, n: int) -> list[Path]:
    """The first ``n`` normal training images of ``root``."""
    from spillguard.data import training_sources

    src = training_sources(root)
    return [p for p, y in zip(src.paths, src.labels, strict=True) if y == 0][:n]


def phase_decode(root: Path, n: int) -> dict[str, float]:
    """Baseline: read + decode + resize with Pillow in a plain loop, nothing else."""
    import numpy as np
    from PIL import Image

    paths = _normals(root, n)
    t0, c0 = time.perf_counter(), time.process_time()
    for p in paths:
        with Image.open(p) as im:
            np.asarray(im.convert("RGB").resize((48, 32), Image.Resampling.BILINEAR))
    return {"images": len(paths), "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def phase_load(root: Path, n: int) -> dict[str, float]:
    """spillguard.data.load_images: draft decode, 2 threads, into one uint8 array."""
    from spillguard.data import load_images

    paths = _normals(root, n)
    t0, c0 = time.perf_counter(), time.process_time()
    imgs, _, _ = load_images(paths, (32, 48))
    return {"images": len(imgs), "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def phase_score(root: Path, n: int, run: Path) -> dict[str, float]:
    """Scoring including JPEG decoding: what `spillguard predict` does, per image."""
    from spillguard.pipelines.predict import predict_paths

    paths = [str(p) for p in _normals(root, n)]
    predict_paths(run, paths[:256])  # warm-up (model load, first kernels)
    t0, c0 = time.perf_counter(), time.process_time()
    rows, _ = predict_paths(run, paths)
    return {"images": len(rows), "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def phase_train(root: Path, epochs: int, threads: int, out: Path | None) -> dict[str, float]:
    """Training the default config on all normal images (``epochs`` caps it; 0 = the default)."""
    os.environ["SPILLGUARD_THREADS"] = str(threads)
    from spillguard.compute import limit_threads
    from spillguard.config import TrainConfig
    from spillguard.data import load_sources, training_sources
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.train import validate

    limit_threads()
    t0, c0 = time.perf_counter(), time.process_time()
    ds = load_sources(training_sources(root), (32, 48))
    cfg = TrainConfig() if epochs == 0 else TrainConfig(epochs=epochs)
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    det = SpillDetector(cfg).fit(normals, spills)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out is not None:
        det.save(out / "checkpoint.pt", force=True)
    return {
        "images": det.holdout_.sizes()["train"],
        "epochs": len(det.history_),
        "seconds": seconds,
        "train_seconds": det.train_seconds_,
        "cpu": cpu,
        "val_auc": validate(det, normals, spills, cfg.seed)["roc_auc"],
    }


def _child(args: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    res = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--full", action="store_true", help="train the default config to the end")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=10000, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        if a.phase != "train":  # the train phase sets its own thread count
            from spillguard.compute import limit_threads

            limit_threads()
        out = {
            "decode": lambda: phase_decode(a.root, a.n),
            "load": lambda: phase_load(a.root, a.n),
            "score": lambda: phase_score(a.root, a.n, a.run),
            "train": lambda: phase_train(a.root, a.epochs, a.threads, a.run),
        }[a.phase]()
        out["peak_rss_mb"] = _rss_mb()
        print(json.dumps(out))
        return

    real = a.shared / "data" / "spills"
    with tempfile.TemporaryDirectory() as tmp:
        if real.is_dir():
            root, what = real, f"real data {real} (10,000 training JPEGs, about 49x28 px)"
        else:
            print(f"(real data not found at {real}: skipping real-data figures, using a synthetic set)")
            sys.path.insert(0, str(REPO / "src"))
            from spillguard.data.synthetic import SynthSpec, write_synth

            root = write_synth(Path(tmp) / "synth", seed=0, spec=SynthSpec(n_train=3000, n_proliv=60))
            what = "synthetic data (spillguard synth, 3,000 training JPEGs)"
        run = Path(tmp) / "run"
        run.mkdir()
        print(f"data: {what}; cpu cores: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}")
        rows = []
        dec = _child(["--phase", "decode", "--root", str(root)])
        rows.append(("JPEG decode + resize, Pillow loop (baseline)", dec))
        rows.append(
            ("spillguard load_images (draft, 1 thread)", _child(["--phase", "load", "--root", str(root)]))
        )
        epochs = 0 if a.full else a.epochs
        t1 = _child(
            [
                "--phase",
                "train",
                "--root",
                str(root),
                "--epochs",
                str(epochs),
                "--threads",
                "1",
                "--run",
                str(run),
            ]
        )
        rows.append((f"training, 1 thread ({t1['epochs']} epochs, incl. loading)", t1))
        if not a.full:
            t2 = _child(["--phase", "train", "--root", str(root), "--epochs", "2", "--threads", "2"])
            rows.append((f"training, 2 threads ({t2['epochs']} epochs, incl. loading)", t2))
        # a run folder for predict: checkpoint only is enough
        rows.append(
            (
                "scoring incl. JPEG decoding (predict)",
                _child(["--phase", "score", "--root", str(root), "--run", str(run)]),
            )
        )
        base = dec["images"] / dec["seconds"]
        print(
            f"\n{'phase':<46} {'images':>7} {'seconds':>8} {'images/s':>9} {'vs base':>8} {'img/CPU-s':>9} {'RSS MB':>7}"
        )
        for name, r in rows:
            work = r["images"] * r.get("epochs", 1)
            speed, per_cpu = work / r.get("train_seconds", r["seconds"]), work / r["cpu"]
            print(
                f"{name:<46} {r['images']:>7.0f} {r['seconds']:>8.2f} {speed:>9.0f} {speed / base:>7.2f}x {per_cpu:>9.0f} {r['peak_rss_mb']:>7.0f}"
            )
        per_epoch = t1["train_seconds"] / t1["epochs"]
        print(
            f"\ntraining: {per_epoch:.2f} s per epoch over {t1['images']:.0f} images with 1 thread; "
            f"validation ROC AUC {t1['val_auc']:.4f}"
        )
        if not a.full:
            from spillguard.config import TrainConfig
            from spillguard.training.schedule import choose_schedule

            # the epochs the default chooses for these images (an upper bound: early stopping may end sooner)
            from_default = choose_schedule(int(t1["images"]), 32, 48, TrainConfig().time_budget).epochs
            print(
                f"extrapolated default training (<= {from_default} epochs): <= {per_epoch * from_default:.0f} s; "
                "run with --full to measure it"
            )
        print(
            f"load average at end: {os.getloadavg()[0]:.1f}. The CPU is shared: compare ratios, not absolutes."
        )
        print(
            "img/CPU-s: images per CPU-second of the phase's process (all threads; training: loading included)."
        )


if __name__ == "__main__":
    main()
