"""Score an image archive on a Dask cluster: one Parquet part per partition of the listed paths.

``local`` / ``local:N`` starts a ``distributed.LocalCluster`` of N single-threaded worker processes on
127.0.0.1; ``tcp://HOST:PORT`` (or any scheduler address) uses an existing cluster, so the same command
runs on dask-kubernetes or dask-jobqueue. Workers need spillguard installed and must see the image
files and the output folder (a shared filesystem).

- The model is loaded once per worker process by a ``WorkerPlugin`` (also on a worker that Dask
  restarts). With the onnx backend the model travels inside the plugin (workers need only the
  ``runtime`` extra + dask); with torch each worker loads the run folder by path.
- Each task decodes + scores one partition with the same loop as in-process ``predict``
  (``batch_scoring.score_paths``; decoding and scoring take turns, so a worker uses one core) and writes ``part-NNNNN.parquet`` under a temporary name, then renames
  it: a killed job leaves only whole parts. ``resume`` skips the parts already there.
- ``force`` over a complete dataset writes the new one beside it (``.NAME.partial``) and renames it
  into place only once every part is written: an interrupted replacement leaves the old dataset
  whole (and ``resume`` continues the replacement).
- A file that cannot be read is a row with its reason in ``error`` (score and verdict null), never a
  failed task; a partition whose worker dies is rescheduled by Dask (``distributed.scheduler.allowed-failures``).

Output columns: path (string), score (float32), verdict ("spill" / "normal"), error (string).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sharedcore.atomic import write_text
from sharedcore.console import info, progress
from sharedcore.errors import UserError
from sharedcore.machine import MIB, check_process_count, process_bound
from sharedcore.validate import check_int
from spillguard.data import expand_inputs
from spillguard.deploy.backends import onnx_model_bytes, resolve_backend
from spillguard.deploy.batch_scoring import score_paths

DATASET_FORMAT = 1
MANIFEST = "_manifest.json"
PART = "part-{:05d}.parquet"
PLUGIN_PREFIX = "spillguard-model-"
COLUMNS = ("path", "score", "verdict", "error")

try:  # the cluster extra; without it only the in-process path is available
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - exercised where dask is not installed
    WorkerPlugin = object  # type: ignore[assignment,misc]


class ModelPlugin(WorkerPlugin):
    """Loads the scorer once when a worker starts (or joins, or is restarted after dying)."""

    def __init__(self, backend: str, model: bytes | str, name: str, quiet: bool = False) -> None:
        self.backend, self.model, self.name, self.quiet = backend, model, name, quiet
        self.scorer: Any = None

    def setup(self, worker: Any = None) -> None:
        """Build the scorer in this worker process. ``quiet`` (a local cluster's own workers): the
        worker ignores Ctrl-C and Dask's log lines of this worker (multi-line tracebacks when the run
        is interrupted) are not shown; the client reports what went wrong."""
        from spillguard.deploy.backends import load_scorer
        from spillguard.deploy.runtime import OnnxDetector

        if self.quiet:  # a local worker: the client closes it; Ctrl-C in the terminal is the client's
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

        if isinstance(self.model, bytes):
            self.scorer = OnnxDetector.load(self.model)
        else:  # a worker process is an entry point: torch's thread count is set here, once
            from spillguard.compute import limit_threads

            limit_threads()
            self.scorer = load_scorer(self.model, self.backend)


def _worker_scorer(plugin_name: str) -> Any:
    from distributed import get_worker

    plugin: Any = get_worker().plugins.get(plugin_name)
    if plugin is None or plugin.scorer is None:  # pragma: no cover - the scheduler registers it first
        raise RuntimeError(f"worker has no model plugin {plugin_name}")
    return plugin.scorer


def write_part(path: Path, rows: Sequence[tuple[str, float | None, str | None, str | None]]) -> None:
    """Write one Parquet part atomically (temporary name in the same folder, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    table = pa.table(
        {
            "path": pa.array(cols[0], pa.string()),
            "score": pa.array(cols[1], pa.float32()),
            "verdict": pa.array(cols[2], pa.string()),
            "error": pa.array(cols[3], pa.string()),
        }
    )
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def score_partition(
    index: int, items: Sequence[tuple[str, str | None]], out_dir: str, rule: str | None, plugin_name: str
) -> tuple[int, int, int]:
    """Dask task: decode + score one partition, write its part. Returns (index, scored, unreadable).

    ``items``: (path, reason) pairs; a reason (from listing) makes the row an error without reading.
    """
    scorer = _worker_scorer(plugin_name)
    todo = [p for p, why in items if why is None]
    rows, skipped = score_paths(scorer, todo, rule, prefetch=False)  # one core per worker
    scored = {str(p): (s, "spill" if v else "normal") for p, s, v in rows}
    errors = {str(p): why for p, why in skipped}
    errors.update({p: why for p, why in items if why is not None})
    out: list[tuple[str, float | None, str | None, str | None]] = []
    for p, _ in items:
        if p in scored:
            s, verdict = scored[p]
            out.append((p, s, verdict, None))
        else:
            out.append((p, None, None, errors.get(p, "not scored")))
    write_part(Path(out_dir) / PART.format(index), out)
    return index, len(rows), len(out) - len(rows)


@dataclass
class ArchiveResult:
    """What a cluster run did: parts written now and found from before, rows, and timings."""

    out: Path
    n_files: int
    n_parts: int
    parts_written: int
    parts_resumed: int
    n_scored: int
    n_unreadable: int
    n_spill: int
    seconds: float
    workers: int


#: Most worker processes of ``local:N`` (each loads the model; more than the cores only queue).
LOCAL_WORKERS_MAX = 256
#: Schemes of a Dask scheduler address (distributed's comm backends reachable by address).
SCHEMES = ("tcp", "tls", "ws", "wss")


#: Memory one local worker process takes with the model loaded (measured: a worker's imports with
#: onnxruntime 117 MB resident, with torch 397 MB; plus the model, a partition's paths and a decoded batch).
WORKER_BYTES = {"onnx": 256 * MIB, "torch": 512 * MIB}


def local_workers(n: int | None, backend: str) -> int:
    """The worker count of ``local[:N]``: N if this machine holds it (UserError naming the bound
    otherwise), else as many as it holds (one per usable core, within available memory)."""
    if n is None:
        return process_bound(WORKER_BYTES[backend])[0]
    return check_process_count(n, f"--cluster local:{n}", WORKER_BYTES[backend])


def parse_cluster(spec: str) -> tuple[str, int | None]:
    """ "local" -> ("local", None); "local:4" -> ("local", 4); "tcp://HOST:PORT" (or tls/ws/wss) -> the
    address. UserError, before anything starts, for a worker count out of 1..LOCAL_WORKERS_MAX, an
    unknown scheme, or an address without HOST:PORT."""
    if spec == "local" or spec.startswith("local:"):
        n = spec.partition(":")[2]
        if n and not (n.isascii() and n.isdigit() and 0 < int(n) <= LOCAL_WORKERS_MAX):  # not '²
            raise UserError(
                f"--cluster {spec}: the worker count must be an integer from 1 to {LOCAL_WORKERS_MAX}, e.g. local:4"
            )
        return "local", int(n) if n else None
    scheme, sep, rest = spec.partition("://")
    host, _, port = rest.rpartition(":")
    if (
        not sep
        or scheme not in SCHEMES
        or not host
        or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)
    ):
        raise UserError(
            f"--cluster {spec}: expected local, local:N or a scheduler address {'|'.join(SCHEMES)}://HOST:PORT "
            "such as tcp://127.0.0.1:8786"
        )
    return spec, None


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's loggers in this process hold their lines (warnings of workers killed at close) meanwhile."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _start_local(n_workers: int) -> Any:
    """A LocalCluster of ``n_workers`` single-threaded worker processes on 127.0.0.1.

    Built in another thread, so that a Ctrl-C during start-up interrupts the caller at once and the
    cluster is closed as soon as it is up (not left half-built). The workers ignore Ctrl-C once their
    model plugin is set up (``ModelPlugin.setup``): the terminal's SIGINT reaches the whole process
    group, and this process closes them.
    """
    from distributed import LocalCluster

    def build() -> None:
        try:
            box["cluster"] = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
        except BaseException as exc:  # raised in the caller's thread below
            box["error"] = exc

    box: dict[str, Any] = {}
    thread = threading.Thread(target=build, name="spillguard local cluster start", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except BaseException:  # interrupted while it starts: close it once it is up
        thread.join()
        if "cluster" in box:
            with _quiet_dask():
                box["cluster"].close()
        raise
    if "error" in box:
        raise box["error"]
    return box["cluster"]


@contextmanager
def dask_client(spec: str, backend: str = "torch") -> Iterator[Any]:
    """A distributed Client for ``spec``; a LocalCluster it starts is closed on exit (also on error)."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            "dask distributed is not installed; pip install 'avatargen-spillguard[cluster]'"
        ) from None
    address, n = parse_cluster(spec)
    if address == "local":
        cluster = _start_local(local_workers(n, backend))
        try:
            with Client(cluster) as client:
                yield client
        finally:
            with _quiet_dask():  # an interrupted run: one line from run_cli, not Dask's shutdown warnings
                cluster.close()
        return
    try:
        client = Client(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"--cluster {address}: cannot reach the Dask scheduler ({type(exc).__name__}); check the address"
        ) from None
    try:
        yield client
    finally:
        client.close()


#: The reason of a row whose file name Parquet's UTF-8 path column cannot hold.
NOT_UTF8 = "file name is not UTF-8 (the dataset's path column is UTF-8, shown here with \\x escapes); rename the file to score it"


def _utf8_name(path: str) -> str | None:
    """None for a name that is UTF-8, else the name with its undecodable bytes as \\xNN escapes."""
    try:
        path.encode("utf-8")
        return None
    except UnicodeEncodeError:  # Python keeps such bytes as surrogates (os.fsdecode)
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _listing(items: Sequence[str]) -> list[tuple[str, str | None]]:
    """(path, None) for every listed image file, then (path, reason) for the files listing passed over.
    A name that is not UTF-8 is a row with its reason (``NOT_UTF8``), not the end of the run."""
    paths, skipped = expand_inputs(items)
    listed: dict[str, str | None] = dict.fromkeys(str(p) for p in paths)
    listed.update({str(p): why for p, why in skipped if str(p) not in listed})
    out: list[tuple[str, str | None]] = []
    for p, why in listed.items():
        escaped = _utf8_name(p)
        out.append((p, why) if escaped is None else (escaped, NOT_UTF8))
    return out


def staging(out: Path) -> Path:
    """Where a run that replaces a complete dataset (``--force``) writes until it is complete."""
    return out.with_name(f".{out.name}.partial")


def _read_manifest(mpath: Path) -> dict[str, Any]:
    try:
        old = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{mpath}: unreadable ({type(exc).__name__}); start again with --force") from None
    if not isinstance(old, dict):
        raise UserError(f"{mpath}: not a JSON mapping; start again with --force")
    return old


def _check_out(out: Path, manifest: dict[str, Any], resume: bool, force: bool) -> tuple[set[int], Path]:
    """Check the dataset folder (writes nothing). Returns the indices of whole parts a resume keeps and
    the folder the parts go to: ``out`` itself, or ``staging(out)`` when a complete dataset is being
    replaced (``--force``), so that the old one stays until the new one is whole."""
    mpath = out / MANIFEST
    stage = staging(out)
    if out.exists() and not out.is_dir():
        raise UserError(
            f"{out}: exists and is not a folder; the Parquet dataset is a folder, choose another -o"
        )
    if resume:
        work = stage if (stage / MANIFEST).is_file() else out  # an interrupted replacement first
        if not (work / MANIFEST).is_file():
            raise UserError(f"{out}: nothing to resume (no {MANIFEST}); run without --resume")
        old = _read_manifest(work / MANIFEST)
        changed = [
            k
            for k in ("format", "listing_sha256", "partition_size", "model_sha256", "rule")
            if old.get(k) != manifest.get(k)
        ]
        if changed:
            raise UserError(
                f"{out}: the earlier run differs in {', '.join(changed)}; resume with the same paths, model, "
                "--rule and --partition-size, or pass --force without --resume to start again"
            )
        return {int(p.name[5:-8]) for p in work.glob("part-*.parquet") if _whole(p)}, work
    if stage.exists() and not (stage / MANIFEST).is_file():
        raise UserError(
            f"{stage}: exists and is not a spillguard verdict dataset; refusing to delete it, move it away"
        )
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserError(
                f"{out}: folder exists and is not empty; pass --resume to continue it or --force to replace it"
            )
        if not mpath.is_file():
            raise UserError(
                f"{out}: not a spillguard verdict dataset (no {MANIFEST}); refusing to delete it, choose another -o"
            )
        return set(), stage
    return set(), out


def _start_out(work: Path, manifest: dict[str, Any], resume: bool) -> None:
    """Once the cluster is reachable: a fresh folder with the manifest, or a resumed one tidied."""
    if resume:
        for tmp in work.glob(".part-*.tmp"):  # left by a worker killed while writing
            tmp.unlink(missing_ok=True)
        return
    if work.is_dir():
        shutil.rmtree(work)  # checked by _check_out: empty, or an earlier unfinished replacement
    work.mkdir(parents=True)
    write_text(work / MANIFEST, json.dumps(manifest, indent=1), force=True)


def _finish_out(work: Path, out: Path) -> None:
    """A complete replacement takes the old dataset's place (two renames, then the old one is deleted)."""
    if work == out:
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    if out.exists():
        os.rename(out, old)
    os.rename(work, out)
    shutil.rmtree(old, ignore_errors=True)


def _whole(part: Path) -> bool:
    try:
        import pyarrow.parquet as pq

        pq.read_metadata(part)
        return True
    except Exception:  # a foreign or damaged file: score the partition again
        return False


def score_archive(
    model: str | os.PathLike[str],
    items: Sequence[str],
    out: str | os.PathLike[str],
    cluster: str = "local",
    backend: str = "auto",
    rule: str | None = None,
    partition_size: int = 5000,
    resume: bool = False,
    force: bool = False,
) -> ArchiveResult:
    """List ``items`` (files, folders, globs), split into partitions, score them on ``cluster``."""
    check_int(partition_size, "--partition-size", 1, 10**9)
    address, n_local = parse_cluster(cluster)  # a bad address or worker count before the model is loaded
    t0 = time.perf_counter()
    kind = resolve_backend(model, backend)
    if address == "local":  # more workers than this machine holds: refused before anything starts
        local_workers(n_local, kind)
    payload: bytes | str = onnx_model_bytes(model) if kind == "onnx" else str(Path(model).resolve())
    check = ModelPlugin(kind, payload, "local check")
    check.setup()  # fails here, once, for a broken model or an unknown rule
    check.scorer.threshold(rule)
    listing = _listing(items)
    if not listing:
        raise UserError(f"{' '.join(items)}: no files to score; point to JPEG/PNG files, folders or globs")
    digest = hashlib.sha256(payload if isinstance(payload, bytes) else Path(payload).as_posix().encode())
    if isinstance(payload, str):  # torch: the weights, not only the path
        ckpt = Path(payload) / "checkpoint.pt" if Path(payload).is_dir() else Path(payload)
        digest.update(ckpt.read_bytes())
    manifest: dict[str, Any] = {
        "format": DATASET_FORMAT,
        "listing_sha256": hashlib.sha256("\n".join(p for p, _ in listing).encode()).hexdigest(),
        "n_files": len(listing),
        "partition_size": partition_size,
        "model": str(model),
        "backend": kind,
        "model_sha256": digest.hexdigest(),
        "rule": rule or check.scorer.threshold_rule_,
        "columns": list(COLUMNS),
    }
    out_p = Path(out)
    done, work = _check_out(out_p, manifest, resume, force)
    parts = [listing[i : i + partition_size] for i in range(0, len(listing), partition_size)]
    todo = [i for i in range(len(parts)) if i not in done]
    scored = unreadable = 0
    with dask_client(cluster, kind) as client:
        _start_out(work, manifest, resume)
        workers = len(client.scheduler_info().get("workers", {}))
        name = PLUGIN_PREFIX + manifest["model_sha256"][:16]
        client.register_plugin(ModelPlugin(kind, payload, name, quiet=address == "local"), name=name)
        try:
            futures = [
                client.submit(
                    score_partition,
                    i,
                    parts[i],
                    str(work.resolve()),
                    rule,
                    name,
                    key=f"spillguard-part-{i:05d}-{manifest['listing_sha256'][:12]}",
                    pure=False,
                    retries=1,
                )
                for i in todo
            ]
            from distributed import as_completed

            for fut in progress(as_completed(futures), desc="partitions", total=len(futures)):
                _, n_ok, n_bad = fut.result()
                scored, unreadable = scored + n_ok, unreadable + n_bad
        finally:
            with contextlib.suppress(Exception):  # best effort: a worker may have died meanwhile
                client.unregister_worker_plugin(name)
    n_spill, n_ok_all, n_bad_all = _count(work, len(parts))  # every part is there: the run is whole
    _finish_out(work, out_p)
    return ArchiveResult(
        out_p, len(listing), len(parts), len(todo), len(parts) - len(todo),
        n_ok_all, n_bad_all, n_spill, time.perf_counter() - t0, workers,
    )  # fmt: skip


def _count(out: Path, n_parts: int) -> tuple[int, int, int]:
    """(spills, scored, unreadable) over all parts of the dataset."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    spill = ok = bad = 0
    for i in range(n_parts):
        t = pq.read_table(out / PART.format(i), columns=["verdict"])
        v = t.column("verdict")
        spill += int(pc.sum(pc.equal(v, "spill")).as_py() or 0)
        ok += len(v) - v.null_count
        bad += v.null_count
    return spill, ok, bad


def read_verdicts(out: str | os.PathLike[str]) -> Any:
    """The whole dataset as a pandas DataFrame (columns path, score, verdict, error), in listing order."""
    import pyarrow.parquet as pq

    parts = sorted(Path(out).glob("part-*.parquet"))
    if not parts:
        raise UserError(
            f"{out}: no Parquet parts; point to a folder written by 'spillguard predict --cluster'"
        )
    return pq.ParquetDataset([str(p) for p in parts]).read().to_pandas()


def report(result: ArchiveResult) -> None:
    """Print a one-paragraph summary of a cluster run."""
    rate = result.n_scored / result.seconds if result.seconds > 0 else 0.0
    info(
        f"{result.n_files} file(s) in {result.n_parts} part(s) ({result.parts_written} scored now, "
        f"{result.parts_resumed} kept from before) on {result.workers} worker(s): {result.n_spill} spill, "
        f"{result.n_scored - result.n_spill} normal, {result.n_unreadable} unreadable; "
        f"{result.seconds:.1f} s ({rate:.0f} images/s); {result.out}"
    )
