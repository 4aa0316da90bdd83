"""Deployment speed: onnxruntime vs torch scoring (model only, and with JPEG decoding), and archive
scoring on a Dask LocalCluster with 1 and 2 workers against in-process ``predict``; one table, every
ratio from this one run.

Run: ``python benchmarks/bench_spill_deploy.py [--n-archive 200000] [--run RUN] [--shared ../shared]``.
Needs ../shared/data/spills (skips cleanly when absent). Without ``--run`` it trains the shipped default
config briefly (1 epoch on 3,000 images, no decoder fit): the same network and scoring graph as a fully
trained default, so the same speed. The archive is ``--n-archive`` copies of the real training images
(cycled) written by this script into a temporary folder (100 subfolders) and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float, float]:
    """(result, median wall seconds, median CPU seconds of this process) over ``repeat`` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, statistics.median(walls), statistics.median(cpus)


def make_archive(src: list[Path], n: int, root: Path) -> Path:
    """``n`` real copies of ``src`` (cycled) in 100 subfolders of ``root``."""
    for k in range(100):
        (root / f"d{k:02d}").mkdir(parents=True)
    for i in range(n):
        shutil.copyfile(src[i % len(src)], root / f"d{i % 100:02d}" / f"img{i:07d}.jpg")
    return root


def worker_cpu(client: Any) -> float:
    """Total CPU seconds (all threads) used so far by the cluster's worker processes."""

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    return float(sum(client.run(cpu).values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument(
        "--run", type=Path, default=None, help="a trained run folder (default: train a brief one)"
    )
    ap.add_argument(
        "--n-archive", type=int, default=200_000, help="images in the archive (issue: >= 200,000)"
    )
    ap.add_argument("--n-model", type=int, default=10_000, help="images for the model-only and decoding rows")
    ap.add_argument("--partition-size", type=int, default=5000)
    ap.add_argument("--workers", default="1,2", help="LocalCluster sizes to time")
    args = ap.parse_args()
    spills = args.shared / "data" / "spills"
    if not (spills / "train").is_dir():
        print(f"skipped: real data not found at {spills} (pass --shared)")
        return
    os.environ.setdefault("SPILLGUARD_THREADS", "1")
    from spillguard.compute import limit_threads

    limit_threads()  # this script is an entry point: torch's thread count is set here, once

    from spillguard.config import TrainConfig
    from spillguard.data import load_images, training_sources
    from spillguard.deploy.cluster import score_archive
    from spillguard.deploy.export import export_run
    from spillguard.deploy.runtime import OnnxDetector
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.predict import predict_paths
    from spillguard.pipelines.train import train_run

    start_load = load()
    tmp = Path(tempfile.mkdtemp(prefix="bench_deploy_"))
    rows: list[tuple[str, int, float, float, str]] = []  # name, images, seconds, cpu, baseline name
    try:
        run = args.run
        if run is None:
            run = tmp / "run"
            cfg = TrainConfig(epochs=1, max_train=3000, fit_decoder=False, seed=0)
            train_run(spills, run, cfg)
        onnx_path, _ = export_run(run, tmp / "model.onnx")
        src = training_sources(spills)
        paths = [p for p, y in zip(src.paths, src.labels, strict=True) if y == 0]
        model_paths = [str(p) for p in paths[: args.n_model]]
        images, _, _ = load_images(model_paths, (32, 48))
        det, odet = SpillDetector.load(run), OnnxDetector.load(onnx_path)
        det.score_samples(images[:512]), odet.score_samples(images[:512])  # warm-up
        _, s, c = timed(lambda: det.score_samples(images), 3)
        rows.append(("torch score_samples, model only (**baseline A**)", len(images), s, c, "A"))
        _, s, c = timed(lambda: odet.score_samples(images), 3)
        rows.append(("onnxruntime score_samples, model only", len(images), s, c, "A"))
        _, s, c = timed(lambda: predict_paths(run, model_paths), 3)
        rows.append(("torch `predict` with decoding (**baseline B**)", len(images), s, c, "B"))
        _, s, c = timed(lambda: predict_paths(onnx_path, model_paths), 3)
        rows.append(("onnxruntime `predict` with decoding", len(images), s, c, "B"))

        t0 = time.perf_counter()
        archive = make_archive(paths, args.n_archive, tmp / "archive")
        print(
            f"archive of {args.n_archive} copies written in {time.perf_counter() - t0:.0f} s", file=sys.stderr
        )
        items = [str(archive / "*" / "*.jpg")]
        res, s, c = timed(lambda: predict_paths(onnx_path, items))
        rows.append(("in-process `predict` (onnx) on the archive (**baseline C**)", len(res[0]), s, c, "C"))
        from distributed import Client, LocalCluster

        for n in [int(x) for x in args.workers.split(",")]:
            with (
                LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                ) as lc,
                Client(lc) as client,
            ):
                cpu0 = worker_cpu(client)
                out = tmp / f"verdicts_{n}.parquet"
                result, s, c = timed(
                    lambda lc=lc, out=out: score_archive(
                        onnx_path, items, out, lc.scheduler_address, partition_size=args.partition_size
                    )
                )
                c += worker_cpu(client) - cpu0
                shutil.rmtree(out)
            rows.append((f"`predict --cluster local:{n}` (onnx) on the archive", result.n_scored, s, c, "C"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = {b: r[1] / r[2] for r in rows for b in "ABC" if r[4] == b and "baseline " + b in r[0]}
    print(
        f"\nMachine: {os.cpu_count()} cores; {start_load} at start, {load()} at end; SPILLGUARD_THREADS=1\n"
    )
    print("| phase | images | seconds | images/s | vs baseline | images per CPU-s |")
    print("|---|---|---|---|---|---|")
    rates = {}
    for name, n, s, c, b in rows:
        rate = n / s
        rates[name] = rate
        print(f"| {name} | {n:,} | {s:.2f} | {rate:,.0f} | {rate / base[b]:.2f}x {b} | {n / c:,.0f} |")
    cl = {int(k.split("local:")[1].split("`")[0]): v for k, v in rates.items() if "local:" in k}
    per_cpu = {r[0]: r[1] / r[3] for r in rows}
    cpu_c = next(v for k, v in per_cpu.items() if "baseline C" in k)
    cpu_cl = {int(k.split("local:")[1].split("`")[0]): v for k, v in per_cpu.items() if "local:" in k}
    if 1 in cl and 2 in cl:
        print(
            f"\n2 workers / 1 worker: {cl[2] / cl[1]:.2f}x; per worker (2 workers) vs the whole in-process run: "
            f"{cl[2] / 2 / base['C']:.2f}; per CPU-second, a worker (2 workers) vs in-process: {cpu_cl[2] / cpu_c:.2f}"
        )


if __name__ == "__main__":
    main()
