"""Deployment speed: onnxruntime vs torch scoring (model only; with JPEG decoding as ``predict`` runs it,
decoding in a second thread; and decoding and scoring in turn on one thread, as a cluster worker), and archive
scoring on a Dask LocalCluster with 1 and 2 workers against in-process ``predict`` (on all cores, and
restricted to one core, like a worker); one table, every ratio from this one run.

Run: ``python benchmarks/bench_spill_deploy.py [--n-archive 200000] [--rounds 5] [--archive-rounds 3]
[--run RUN] [--shared ../shared]``. Needs ../shared/data/spills (skips cleanly when absent). Without
``--run`` it trains the shipped default config briefly (1 epoch on 3,000 images, no decoder fit): the
same network and scoring graph as a fully trained default, so the same speed. The archive is
``--n-archive`` copies of the real training images (cycled) written by this script into a temporary
folder (100 subfolders) and removed at the end.

The rows of a section are measured interleaved (torch, onnx, torch, onnx, ...) for ``--rounds``
rounds (archive rows: ``--archive-rounds``), so that a change of machine load hits every row alike;
the table gives the median and the spread (min-max) of the rates, and the ratios are the median of
the per-round ratios against the section's named baseline (same round). The one-core in-process row
runs ``predict`` in a subprocess pinned to one CPU (``os.sched_setaffinity``) with one thread, as a
Dask worker of ``--cluster local:N`` is.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Row:
    """One table row: per-round images, wall seconds and CPU seconds; compared with ``baseline``."""

    name: str
    baseline: str  # the key of the section's baseline row (its own key for the baseline itself)
    key: str
    images: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, images: int, seconds: float, cpu: float) -> None:
        self.images.append(images)
        self.seconds.append(seconds)
        self.cpu.append(cpu)

    @property
    def rates(self) -> list[float]:
        """Images per wall second, one per round."""
        return [n / s for n, s in zip(self.images, self.seconds, strict=True)]

    @property
    def per_cpu(self) -> float:
        """Median images per CPU second."""
        return statistics.median(n / c for n, c in zip(self.images, self.cpu, strict=True))

    @property
    def rate(self) -> float:
        """Median images per wall second."""
        return statistics.median(self.rates)


def ratios(row: Row, base: Row, scale: float = 1.0) -> list[float]:
    """Per-round ratios ``scale * rate / baseline rate`` (rounds paired: measured back to back)."""
    return [scale * a / b for a, b in zip(row.rates, base.rates, strict=True)]


def spread(xs: list[float], fmt: str = ",.0f") -> str:
    return f"{format(min(xs), fmt)}-{format(max(xs), fmt)}" if len(xs) > 1 else "-"


def measure(fn: Callable[[], int]) -> tuple[int, float, float]:
    """(images scored, wall seconds, CPU seconds of this process) of one call of ``fn``."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = fn()
    return n, time.perf_counter() - t0, time.process_time() - c0


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


def one_core_child(model: str, items: list[str]) -> None:
    """In the subprocess: pin to one CPU, one thread, time in-process ``predict``; print JSON."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    os.environ["SPILLGUARD_THREADS"] = "1"
    from spillguard.pipelines.predict import predict_paths

    n, s, c = measure(lambda: len(predict_paths(model, items)[0]))
    print(json.dumps({"images": n, "seconds": s, "cpu": c, "cpus": sorted(os.sched_getaffinity(0))}))


def one_core_predict(model: Path, items: list[str]) -> tuple[int, float, float]:
    """In-process ``predict`` in a subprocess pinned to one core: (images, wall s, CPU s)."""
    cmd = [sys.executable, __file__, "--one-core-child", str(model), *items]
    env = {**os.environ, "SPILLGUARD_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    res = json.loads(out.strip().splitlines()[-1])
    assert len(res["cpus"]) == 1, res
    return int(res["images"]), float(res["seconds"]), float(res["cpu"])


def cluster_predict(
    model: Path, items: list[str], out: Path, n: int, partition_size: int
) -> tuple[int, float, float]:
    """``predict --cluster local:n`` (``score_archive``) on a fresh LocalCluster: (images, wall s, CPU s of
    this process and the workers). Cluster start-up is not timed; listing, plugin, Parquet writing are."""
    from distributed import Client, LocalCluster

    from spillguard.deploy.cluster import score_archive

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
        t0, c0 = time.perf_counter(), time.process_time()
        result = score_archive(model, items, out, lc.scheduler_address, partition_size=partition_size)
        s, c = time.perf_counter() - t0, time.process_time() - c0
        c += worker_cpu(client) - cpu0
    shutil.rmtree(out)
    return result.n_scored, s, c


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one-core-child":
        one_core_child(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument(
        "--run", type=Path, default=None, help="a trained run folder (default: train a brief one)"
    )
    ap.add_argument(
        "--n-archive", type=int, default=200_000, help="images in the archive (issue: >= 200,000)"
    )
    ap.add_argument("--n-model", type=int, default=10_000, help="images for the model-only and decoding rows")
    ap.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds of the model-only and decoding rows"
    )
    ap.add_argument("--archive-rounds", type=int, default=3, help="interleaved rounds of the archive rows")
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
    from spillguard.deploy.backends import load_scorer
    from spillguard.deploy.batch_scoring import score_paths
    from spillguard.deploy.export import export_run
    from spillguard.deploy.runtime import OnnxDetector
    from spillguard.detector import SpillDetector
    from spillguard.pipelines.predict import predict_paths
    from spillguard.pipelines.train import train_run

    start_load = load()
    print(f"{start_load} at start", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="bench_deploy_"))
    sizes = [int(x) for x in args.workers.split(",")]
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

        a_t = Row("torch `score_samples`, model only (**baseline A**)", "A", "A")
        a_o = Row("onnxruntime `score_samples`, model only", "A", "A_onnx")
        b_t = Row("torch `predict` with decoding (**baseline B**)", "B", "B")
        b_o = Row("onnxruntime `predict` with decoding", "B", "B_onnx")
        w_t = Row(
            "torch, decoding and scoring in turn on one thread (as a cluster worker; **baseline W**)",
            "W",
            "W",
        )
        w_o = Row(
            "onnxruntime, decoding and scoring in turn on one thread (as a cluster worker)", "W", "W_onnx"
        )
        t_scorer, o_scorer = load_scorer(run), load_scorer(onnx_path)
        jobs: list[tuple[Row, Callable[[], int]]] = [
            (a_t, lambda: len(det.score_samples(images))),
            (a_o, lambda: len(odet.score_samples(images))),
            (b_t, lambda: len(predict_paths(run, model_paths)[0])),
            (b_o, lambda: len(predict_paths(onnx_path, model_paths)[0])),
            (w_t, lambda: len(score_paths(t_scorer, model_paths, prefetch=False)[0])),
            (w_o, lambda: len(score_paths(o_scorer, model_paths, prefetch=False)[0])),
        ]
        for r in range(args.rounds):
            for row, fn in jobs:
                row.add(*measure(fn))
            print(f"round {r + 1}/{args.rounds} of the model rows done; {load()}", file=sys.stderr)

        t0 = time.perf_counter()
        archive = make_archive(paths, args.n_archive, tmp / "archive")
        print(
            f"archive of {args.n_archive} copies written in {time.perf_counter() - t0:.0f} s", file=sys.stderr
        )
        items = [str(archive / "*" / "*.jpg")]
        c_all = Row("in-process `predict` (onnx) on the archive, both cores (**baseline C**)", "C", "C")
        c_one = Row(
            "in-process `predict` (onnx) on the archive, pinned to one core (**baseline C1**)", "C1", "C1"
        )
        cl = {
            n: Row(f"`predict --cluster local:{n}` (onnx) on the archive", "C1", f"local:{n}") for n in sizes
        }
        archive_jobs: list[tuple[Row, Callable[[], tuple[int, float, float]]]] = [
            (c_all, lambda: measure(lambda: len(predict_paths(onnx_path, items)[0]))),
            (c_one, lambda: one_core_predict(onnx_path, items)),
        ]
        for n in sizes:
            out = tmp / f"verdicts_{n}.parquet"
            archive_jobs.append(
                (cl[n], lambda n=n, out=out: cluster_predict(onnx_path, items, out, n, args.partition_size))
            )
        for r in range(args.archive_rounds):
            for row, job in archive_jobs:
                row.add(*job())
            print(f"round {r + 1}/{args.archive_rounds} of the archive rows done; {load()}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [a_t, a_o, b_t, b_o, w_t, w_o, c_all, c_one, *cl.values()]
    by_key = {row.key: row for row in rows}
    print(
        f"\nMachine: {os.cpu_count()} cores; {start_load} at start, {load()} at end; SPILLGUARD_THREADS="
        f"{os.environ['SPILLGUARD_THREADS']}; {args.rounds} rounds (model rows), {args.archive_rounds} (archive rows)\n"
    )
    print(
        "| phase | images | seconds (median) | images/s (median) | images/s (min-max) | vs baseline (median, min-max) | images per CPU-s |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        rs = ratios(row, by_key[row.baseline])
        print(
            f"| {row.name} | {row.images[0]:,} | {statistics.median(row.seconds):.2f} | {row.rate:,.0f} | "
            f"{spread(row.rates)} | {statistics.median(rs):.2f}x {row.baseline} ({spread(rs, '.2f')}) | {row.per_cpu:,.0f} |"
        )

    def line(text: str, rs: list[float]) -> None:
        print(f"- {text}: {statistics.median(rs):.2f} (rounds {spread(rs, '.2f')})")

    print()
    line("onnxruntime / torch, model only", ratios(a_o, a_t))
    line("onnxruntime / torch, `predict` with decoding", ratios(b_o, b_t))
    line("onnxruntime / torch, decoding and scoring in turn on one thread", ratios(w_o, w_t))
    line("one-core in-process / whole in-process `predict`", ratios(c_one, c_all))
    if 1 in cl:
        line("1 worker / one-core in-process (like for like)", ratios(cl[1], c_one))
    if 1 in cl and 2 in cl:
        line("2 workers / 1 worker", ratios(cl[2], cl[1]))
    if 2 in cl:
        line("per worker (2 workers) / one-core in-process (like for like)", ratios(cl[2], c_one, 0.5))
        line("per worker (2 workers) / whole in-process run", ratios(cl[2], c_all, 0.5))
        print(
            f"- per CPU-second, a worker (2 workers) / in-process: {cl[2].per_cpu / c_all.per_cpu:.2f} "
            f"(whole), {cl[2].per_cpu / c_one.per_cpu:.2f} (one core)"
        )


if __name__ == "__main__":
    main()
