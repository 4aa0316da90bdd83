"""Archive scoring on a 2-worker Dask LocalCluster (processes): verdicts identical to in-process
predict, unreadable files listed, a killed worker's partition retried, --resume after an interrupted
run. The cluster is closed in teardown whatever the tests do."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sharedcore.errors import UserError
from spillguard.deploy.cluster import (
    MANIFEST,
    NOT_UTF8,
    _listing,
    parse_cluster,
    read_verdicts,
    score_archive,
    staging,
    write_part,
)
from spillguard.pipelines.predict import predict_paths
from tests.signals import default_signals

distributed = pytest.importorskip("distributed")

BAD = {"corrupt.jpg": b"\xff\xd8\xff not really a jpeg", "empty.jpg": b"", "notes.txt": b"not an image"}


def test_cluster_spec_parsing() -> None:
    assert parse_cluster("local") == ("local", None) and parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.1:8786") == ("tcp://10.0.0.1:8786", None)
    for bad in ("local:0", "local:x", "10.0.0.1:8786"):
        with pytest.raises(UserError, match="--cluster"):
            parse_cluster(bad)
    # found by research/spillguard_sweep.py: distributed's own ValueError (the bug handler), or a
    # LocalCluster of 100,000 processes that never came up
    for bad in ("tcp://", "tcp://127.0.0.1:notaport", "tcp://127.0.0.1:99999", "udp://x:1", "tcp://:8786",
                "", "local:100000", "local:-1"):  # fmt: skip
        with pytest.raises(UserError, match="--cluster") as err:
            parse_cluster(bad)
        assert "\n" not in str(err.value)
    assert parse_cluster("tls://sched.example:8786")[0] == "tls://sched.example:8786"
    assert parse_cluster("local:256") == ("local", 256)
    for bad in ("local:²", "local:٣", "tcp://127.0.0.1:８７８６"):  # digits to str.isdigit, not to int
        with pytest.raises(UserError, match="--cluster") as err:
            parse_cluster(bad)
        assert bad in str(err.value)


def test_a_local_cluster_beyond_the_machine_is_refused_before_the_model_loads(tmp_path: Path) -> None:
    """Issue 21: every count a user gives is bounded by what the machine holds (cores, memory)."""
    from sharedcore.machine import process_bound
    from spillguard.deploy.cluster import WORKER_BYTES

    for backend, model in (("onnx", tmp_path / "absent.onnx"), ("torch", tmp_path / "absent-run")):
        bound, _ = process_bound(WORKER_BYTES[backend])
        with pytest.raises(
            UserError, match=rf"--cluster local:{bound + 1}: this machine holds 1 to {bound} "
        ):
            score_archive(model, [str(tmp_path)], tmp_path / "out", f"local:{bound + 1}")
    assert not (tmp_path / "out").exists()


def test_output_folder_checks_come_before_any_cluster(
    small_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    """A user's folder is never deleted, and nothing is written before the scheduler answers."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    nowhere = "tcp://127.0.0.1:1"  # never reached: every check below fails first
    with pytest.raises(UserError, match="--resume to continue it or --force"):
        score_archive(tiny_onnx, [str(small_archive)], user, nowhere)
    with pytest.raises(UserError, match="refusing to delete it"):
        score_archive(tiny_onnx, [str(small_archive)], user, nowhere, force=True)
    with pytest.raises(UserError, match="nothing to resume"):
        score_archive(tiny_onnx, [str(small_archive)], tmp_path / "new", nowhere, resume=True)
    with pytest.raises(UserError, match="threshold rule 'prior'"):
        score_archive(tiny_onnx, [str(small_archive)], tmp_path / "new", nowhere, rule="prior")
    assert (user / "notes.txt").read_text() == "keep me" and not (tmp_path / "new").exists()


def test_a_damaged_model_is_refused_before_the_cluster_and_by_a_worker(
    small_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    """One flipped bit changed verdicts with no word (issue 21): the check before the cluster starts
    refuses it, and so does a worker's plugin given the same bytes."""
    from spillguard.deploy.cluster import ModelPlugin

    blob = bytearray(tiny_onnx.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    bad = tmp_path / "flipped.onnx"
    bad.write_bytes(bytes(blob))
    with pytest.raises(UserError, match="checksum"):
        score_archive(bad, [str(small_archive)], tmp_path / "out", "tcp://127.0.0.1:1")
    with pytest.raises(UserError, match="checksum"):
        ModelPlugin("onnx", bytes(blob), "w").setup()
    assert not (tmp_path / "out").exists()


def _non_utf8(folder: Path, name: bytes) -> Path:
    """A file in ``folder`` whose name is the bytes ``name`` (not UTF-8), as Python names it."""
    p = Path(os.fsdecode(os.fsencode(str(folder)) + b"/" + name))
    p.write_bytes(b"\xff\xd8 not scored")
    return p


def test_a_non_utf8_file_name_is_a_row_with_its_reason(tmp_path: Path) -> None:
    """Issue 21: one such name killed a whole cluster run (exit 1) that in-process predict survives;
    the Parquet path column is UTF-8, so it is a row with its reason and its bytes as \\x escapes."""
    (tmp_path / "ok.jpg").write_bytes(b"x")
    _non_utf8(tmp_path, b"caf\xe9.jpg")
    listing = _listing([str(tmp_path)])
    assert listing == [(str(tmp_path / "caf\\xe9.jpg"), NOT_UTF8), (str(tmp_path / "ok.jpg"), None)]
    write_part(tmp_path / "part-00000.parquet", [(p, None, None, why) for p, why in listing])
    assert read_verdicts(tmp_path)["path"].tolist() == [p for p, _ in listing]


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two single-threaded worker processes on 127.0.0.1; closed in teardown even when a test fails."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as lc:
        yield lc


@pytest.fixture(scope="module")
def small_archive(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic train + test images (470) and three bad files in one folder."""
    root = tmp_path_factory.mktemp("archive") / "small"
    root.mkdir()
    for sub in ("train", "test/imgs", "proliv"):
        for p in sorted((tiny_data / sub).glob("*.jpg")):
            shutil.copyfile(p, root / f"{sub.replace('/', '_')}_{p.name}")
    for name, blob in BAD.items():
        (root / name).write_bytes(blob)
    return root


@pytest.fixture(scope="module")
def big_archive(small_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 real copies (a link to a listed file would be a skip row) of the small archive's images (14,100 files): long enough to interrupt."""
    root = tmp_path_factory.mktemp("archive") / "big"
    images = sorted(small_archive.glob("*.jpg"))
    for k in range(30):
        d = root / f"day{k:02d}"
        d.mkdir(parents=True)
        for p in images:
            if p.name not in BAD:
                shutil.copyfile(p, d / p.name)
    return root


def _in_process(model: Path, items: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    rows, skipped = predict_paths(model, items)
    ok = pd.DataFrame(
        {
            "path": [str(p) for p, _, _ in rows],
            "score": [s for _, s, _ in rows],
            "verdict": ["spill" if v else "normal" for _, _, v in rows],
        }
    )
    return ok, {str(p): why for p, why in skipped}


def _assert_same(got: pd.DataFrame, model: Path, items: list[str]) -> None:
    ok, skipped = _in_process(model, items)
    scored = got[got["error"].isna()].set_index("path").loc[ok["path"]]
    assert len(scored) == len(ok) and len(got) == len(ok) + len(skipped)
    assert scored["verdict"].tolist() == ok["verdict"].tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(np.float64), ok["score"].to_numpy(), rtol=1e-6)
    errors = got[got["error"].notna()].set_index("path")["error"].to_dict()
    assert errors == skipped


@pytest.mark.slow
@pytest.mark.parametrize("which", ["torch", "onnx"])
def test_cluster_verdicts_equal_in_process_and_bad_files_are_rows(
    which: str,
    cluster: distributed.LocalCluster,
    small_archive: Path,
    tiny_run: Path,
    tiny_onnx: Path,
    tmp_path: Path,
) -> None:
    model = tiny_run if which == "torch" else tiny_onnx
    res = score_archive(
        model, [str(small_archive)], tmp_path / "v.parquet", cluster.scheduler_address, partition_size=64
    )
    assert res.n_parts == 8 and res.parts_written == 8 and res.workers == 2
    assert res.n_unreadable == 3 and res.n_scored == 470
    got = read_verdicts(res.out)
    assert set(got["error"].dropna()) == {
        "empty file (0 bytes)",
        "not an image file (unknown extension)",
        "unreadable image (UnidentifiedImageError)",
    }
    assert (
        got[got["error"].notna()]["score"].isna().all() and got[got["error"].notna()]["verdict"].isna().all()
    )
    _assert_same(got, model, [str(small_archive)])
    assert not list(res.out.glob(".*tmp"))


def _worker_pids(client: distributed.Client) -> dict[str, int]:
    return client.run(os.getpid)


@pytest.mark.slow
def test_a_killed_worker_has_its_partition_retried(
    cluster: distributed.LocalCluster, big_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v.parquet"
    import threading

    result: dict[str, object] = {}

    def job() -> None:
        try:
            result["res"] = score_archive(
                tiny_onnx,
                [str(big_archive / "*" / "*.jpg")],
                out,
                cluster.scheduler_address,
                partition_size=300,
            )
        except BaseException as exc:  # reported below
            result["exc"] = exc

    with distributed.Client(cluster.scheduler_address) as client:
        before = _worker_pids(client)
        thread = threading.Thread(target=job)
        thread.start()
        try:
            victim = None
            deadline = time.monotonic() + 60
            while victim is None and time.monotonic() < deadline:
                busy = {
                    w: ks
                    for w, ks in client.processing().items()
                    if any("spillguard-part" in str(k) for k in ks)
                }
                if busy and len(list(out.glob("part-*.parquet"))) >= 2:
                    victim = next(iter(busy))
                time.sleep(0.01)
            assert victim is not None, "no partition was running"
            parts_at_kill = len(list(out.glob("part-*.parquet")))
            os.kill(before[victim], signal.SIGKILL)  # the worker process this cluster started
        finally:
            thread.join(timeout=300)
        assert "exc" not in result, result.get("exc")
        res = result["res"]
        assert parts_at_kill < res.n_parts == 47  # type: ignore[attr-defined]
        assert res.n_scored == 14_100 and res.n_unreadable == 0  # type: ignore[attr-defined]
        client.wait_for_workers(2, timeout=60)
        after = _worker_pids(client)
        assert (
            victim not in after and before[victim] not in after.values()
        )  # it really died; Dask restarted it
    _assert_same(read_verdicts(out), tiny_onnx, [str(big_archive / "*" / "*.jpg")])


@pytest.mark.slow
def test_resume_after_an_interrupted_run(
    cluster: distributed.LocalCluster, big_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v.parquet"
    items = [str(big_archive / "*" / "*.jpg")]
    cmd = [
        sys.executable,
        "-m",
        "spillguard",
        "-q",
        "predict",
        str(tiny_onnx),
        *items,
        "--cluster",
        cluster.scheduler_address,
        "-o",
        str(out),
        "--partition-size",
        "300",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while (
            len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and proc.poll() is None
        ):
            time.sleep(0.01)
    finally:
        proc.kill()  # interrupted: the client dies without a word
        proc.wait(timeout=30)
    with distributed.Client(cluster.scheduler_address) as client:  # let tasks already running finish
        deadline, stable_since, n = time.monotonic() + 60, time.monotonic(), -1
        while time.monotonic() < deadline and time.monotonic() - stable_since < 2.0:
            now = len(list(out.glob("part-*.parquet")))
            if now != n or any(client.processing().values()):
                stable_since, n = time.monotonic(), now
            time.sleep(0.05)
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert 3 <= len(kept) < 47, (
        len(kept),
        proc.returncode,
        proc.stderr.read().decode()[-2000:] if proc.stderr else "",
    )
    (out / ".part-00046.parquet.deadbeef.tmp").write_bytes(b"half a part")  # as a killed writer leaves it
    with pytest.raises(UserError, match="--resume"):  # no silent overwrite
        score_archive(tiny_onnx, items, out, cluster.scheduler_address, partition_size=300)
    with pytest.raises(UserError, match="partition_size"):  # another partitioning cannot resume
        score_archive(tiny_onnx, items, out, cluster.scheduler_address, partition_size=200, resume=True)
    res = score_archive(tiny_onnx, items, out, cluster.scheduler_address, partition_size=300, resume=True)
    assert res.parts_resumed == len(kept) and res.parts_written == 47 - len(kept) and res.n_scored == 14_100
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet") if p.name in kept} == kept
    assert not list(out.glob(".*.tmp")) and (out / MANIFEST).is_file()
    _assert_same(read_verdicts(out), tiny_onnx, items)
    shutil.rmtree(out)


@pytest.mark.slow
def test_cli_local_cluster_starts_and_stops_its_own(
    small_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from spillguard.cli import app

    out = tmp_path / "v.parquet"
    res = CliRunner().invoke(
        app,
        [
            "predict",
            str(tiny_onnx),
            str(small_archive),
            "--cluster",
            "local:2",
            "-o",
            str(out),
            "--partition-size",
            "100",
        ],
    )
    assert res.exit_code == 0, (res.output, res.exception)
    assert (
        "473 file(s) in 5 part(s)" in res.output
        and "on 2 worker(s)" in res.output
        and "3 unreadable" in res.output
    )
    assert len(read_verdicts(out)) == 473


@pytest.mark.slow
def test_force_replaces_a_dataset_only_once_the_new_one_is_whole(
    cluster: distributed.LocalCluster,
    small_archive: Path,
    tiny_onnx: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21: ``--force`` deleted the previous complete dataset before the new one was written, so
    an interrupted run left neither. Now the old one stays whole until the new one is; a non-UTF-8
    name among the files is one row with its reason."""
    import spillguard.deploy.cluster as cl

    extra = tmp_path / "extra"
    extra.mkdir()
    _non_utf8(extra, b"\xff\xfe.jpg")
    items, out, at = [str(small_archive), str(extra)], tmp_path / "v.parquet", cluster.scheduler_address
    first = score_archive(tiny_onnx, items, out, at, partition_size=200)
    assert first.n_parts == 3 and first.n_scored == 470 and first.n_unreadable == 4
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*_: object) -> None:  # every part written, the run not yet over
        raise KeyboardInterrupt

    monkeypatch.setattr(cl, "_count", interrupted)
    with pytest.raises(KeyboardInterrupt):
        score_archive(tiny_onnx, items, out, at, partition_size=100, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old dataset, untouched
    assert len(list(staging(out).glob("part-*.parquet"))) == 5
    monkeypatch.undo()
    res = score_archive(tiny_onnx, items, out, at, partition_size=100, resume=True)  # the replacement
    assert res.parts_resumed == 5 and res.n_parts == 5 and res.n_scored == 470
    assert sorted(p.name for p in out.glob("part-*")) == [f"part-{i:05d}.parquet" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extra", "v.parquet"]  # no staging, no old copy
    got = read_verdicts(out)
    assert (got["error"] == NOT_UTF8).sum() == 1 and len(got) == 474
    again = score_archive(tiny_onnx, items, out, at, partition_size=200, force=True)  # uninterrupted
    assert again.n_parts == 3 and not staging(out).exists() and len(read_verdicts(out)) == 474


@pytest.mark.slow
def test_ctrl_c_of_a_local_cluster_run_is_one_line(
    big_archive: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    """Issue 21: Dask's multi-line warnings and each worker's KeyboardInterrupt traceback came before
    the one-line interrupt message. Ctrl-C reaches the whole process group, as in a terminal."""
    out = tmp_path / "v.parquet"
    cmd = [sys.executable, "-m", "spillguard", "-q", "predict", str(tiny_onnx), str(big_archive / "*" / "*.jpg"),
           "--cluster", "local:2", "-o", str(out), "--partition-size", "300"]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_signals,  # SIGINT may be ignored by the suite (nohup, a background job)
    )
    try:
        deadline = time.monotonic() + 90
        while not list(out.glob("part-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and err.strip().splitlines() == ["spillguard: interrupted"], err[-3000:]
