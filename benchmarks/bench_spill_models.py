"""Scoring speed of the spill detector's model variants, against JPEG decoding measured in the same run.

Run: ``PYTHONPATH=src python benchmarks/bench_spill_models.py [--shared ../shared] [--n 4000]``.
Uses the real test images of ../shared/data/spills when present, else a synthetic set (spillguard
synth), and says which. Weights are random (speed does not depend on them); each variant scores the
same decoded images on SPILLGUARD_THREADS (default 1) torch threads, best of 3. "end-to-end" adds spillguard.data.load_images
(decode + resize) to the model time. Target (issue 6): >= 2,000 images/s end-to-end.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "conv_ae (local score)": {"model": "conv_ae", "score": "local", "supervision": "none"},
    "conv_vae (local score)": {"model": "conv_vae", "score": "local", "supervision": "none"},
    "memory_ae (local score)": {"model": "memory_ae", "score": "local", "supervision": "none"},
    "conv_ae_head (head, shipped default)": {},
}


def _paths(shared: Path, n: int) -> tuple[list[Path], str]:
    from spillguard.data import labelled_sources
    from spillguard.data.synthetic import SynthSpec, write_synth

    real = shared / "data" / "spills" / "test"
    if real.is_dir():
        src = labelled_sources(real)
        what = f"real test images ({real})"
    else:
        tmp = Path(tempfile.mkdtemp())
        write_synth(tmp / "d", seed=0, spec=SynthSpec(200, 10, 900, 100))
        src = labelled_sources(tmp / "d")
        what = "synthetic images (../shared absent)"
    paths = list(src.paths)
    return (paths * (n // max(1, len(paths)) + 1))[:n], what


def _best(f, reps: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--n", type=int, default=4000)
    args = ap.parse_args()
    from PIL import Image

    from spillguard.compute import limit_threads
    from spillguard.config import TrainConfig
    from spillguard.data import load_images
    from spillguard.data.preprocess import Preprocessor, to_unit
    from spillguard.detector import SpillDetector
    from spillguard.models import build_model

    limit_threads()  # this script is an entry point: SPILLGUARD_THREADS or 1 torch thread

    paths, what = _paths(args.shared, args.n)

    def decode() -> None:
        for p in paths:
            with Image.open(p) as im:
                np.asarray(im.convert("RGB").resize((48, 32), Image.Resampling.BILINEAR))

    t_decode = _best(decode, 1)
    t_load = _best(lambda: load_images(paths, (32, 48)), 1)
    images, _, _ = load_images(paths, (32, 48))
    print(f"data: {len(images)} {what}, 32x48; torch threads: {torch.get_num_threads()}")
    print(f"{'variant':40s} {'images/s':>10s} {'vs decode':>10s} {'end-to-end/s':>13s}")
    print(f"{'baseline: Pillow decode+resize loop':40s} {len(paths) / t_decode:10.0f} {1.0:10.2f}")
    print(f"{'spillguard load_images':40s} {len(paths) / t_load:10.0f} {t_decode / t_load:10.2f}")
    torch.manual_seed(0)
    for name, fields in VARIANTS.items():
        det = SpillDetector(TrainConfig(**fields))
        det.model_ = build_model(det.config.model, 3, det.config.model_params).eval()
        det.prep_ = Preprocessor().fit(to_unit(images[:1000]))
        det.prepare_inference()
        det.score_samples(images[:64])
        t = _best(lambda det=det: det.score_samples(images))
        rate = len(images) / t
        e2e = len(images) / (t + t_load)
        print(f"{name:40s} {rate:10.0f} {rate * t_decode / len(paths):10.2f} {e2e:13.0f}")


if __name__ == "__main__":
    main()
