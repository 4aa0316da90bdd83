from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sharedcore.atomic import (
    atomic_dir,
    atomic_path,
    check_not_input,
    check_output,
    current_umask,
    write_text,
)
from sharedcore.errors import UserError
from tests.signals import default_signals, own_default_signals


def test_write_text_refuses_overwrite_without_force(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    write_text(p, "one")
    with pytest.raises(UserError, match="--force"):
        write_text(p, "two")
    assert p.read_text() == "one"
    write_text(p, "two", force=True)
    assert p.read_text() == "two"


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    p = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert not p.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_only_on_success(tmp_path: Path) -> None:
    d = tmp_path / "run"
    with atomic_dir(d) as tmp:
        (tmp / "x").write_text("1")
    assert (d / "x").read_text() == "1"
    with pytest.raises(UserError, match="not empty"):
        with atomic_dir(d):
            pass
    with pytest.raises(RuntimeError), atomic_dir(d, force=True) as tmp:
        (tmp / "y").write_text("2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert [p.name for p in d.iterdir()] == ["x"]


# --- output checks before any work (issue 10: outputs) -------------------------------------------


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for call in (
        lambda: write_text(tmp_path / "f" / "out.txt", "1"),
        lambda: check_output(tmp_path / "f" / "sub" / "run", kind="dir"),
        lambda: atomic_dir(tmp_path / "f" / "run").__enter__(),
    ):
        with pytest.raises(UserError, match="is a file, not a folder"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_name_too_long(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="longer than this file system allows"):
        write_text(tmp_path / ("n" * 300 + ".csv"), "1")
    with pytest.raises(UserError, match="choose a shorter name"):
        check_output(tmp_path / ("d" * 300) / "out.csv")
    # a long name that fits: the hidden temporary name must fit too
    long_ok = tmp_path / ("n" * 250)
    write_text(long_ok, "1")
    with atomic_dir(tmp_path / ("d" * 250)) as tmp:
        (tmp / "x").write_text("1")
    assert long_ok.read_text() == "1" and (tmp_path / ("d" * 250) / "x").is_file()


def test_file_onto_folder_and_folder_onto_file_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep").write_text("k")
    (tmp_path / "file").write_text("f")
    with pytest.raises(UserError, match="is a folder; name a file"):
        write_text(tmp_path / "dir", "1", force=True)
    with pytest.raises(UserError, match="is not a folder"), atomic_dir(tmp_path / "file", force=True):
        pass
    with pytest.raises(UserError, match="already exists"):
        check_output(tmp_path / "file")
    with pytest.raises(UserError, match="already exists"):
        check_output(tmp_path / "dir")
    assert check_output(tmp_path / "file", force=True) == tmp_path / "file"
    assert (tmp_path / "dir" / "keep").read_text() == "k" and (tmp_path / "file").read_text() == "f"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]


UNPRIVILEGED = 65534  # "nobody"


def as_unprivileged(fn: Callable[[], None]) -> str:
    """Run ``fn`` in a forked child, as uid/gid 65534 when this runs as root (so that folder
    permissions apply to it), and return how it ended: "ok", "UserError: <message>" or another
    exception. Skips the test only where the uid cannot be dropped (e.g. no fork, a restricted container)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(r)
        try:
            if os.geteuid() == 0:
                try:
                    os.setgroups([])
                    os.setgid(UNPRIVILEGED)
                    os.setuid(UNPRIVILEGED)
                except OSError as exc:
                    msg = f"SKIP: cannot drop to uid {UNPRIVILEGED} ({exc})"
                else:
                    fn()
                    msg = "ok"
            else:
                fn()
                msg = "ok"
        except UserError as exc:
            msg = f"UserError: {exc}"
        except BaseException as exc:
            msg = f"{type(exc).__name__}: {exc}"
        os.write(w, msg.encode("utf-8", "backslashreplace"))
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        msg = fh.read().decode()
    os.waitpid(pid, 0)
    if msg.startswith("SKIP: "):
        pytest.skip(msg[6:])
    return msg


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder under /tmp that uid 65534 can reach (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="atomic-perm-"))
    folder.chmod(0o755)
    yield folder
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(folder)


def test_read_only_folder_also_as_root(shared_tmp: Path) -> None:
    # as root the command runs as uid 65534: a 0555 folder is then read-only to it, as to any user
    ro = shared_tmp / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    assert as_unprivileged(lambda: write_text(ro / "out.txt", "1")).startswith(
        f"UserError: {ro / 'out.txt'}: folder {ro} is not writable"
    )

    def make_run() -> None:
        with atomic_dir(ro / "sub" / "run"):
            pass

    assert "is not writable" in as_unprivileged(make_run)
    assert list(ro.iterdir()) == []
    ok = shared_tmp / "rw"
    ok.mkdir(mode=0o777)
    ok.chmod(0o777)
    assert (
        as_unprivileged(lambda: write_text(ok / "out.txt", "1")) == "ok"
    )  # the same user can write elsewhere
    assert (ok / "out.txt").read_text() == "1"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_unwritable_folder_also_for_root() -> None:
    # /proc/self refuses new entries to every user, root included (access(2) says so before any work)
    with pytest.raises(UserError, match=r"/proc/self.*not writable"):
        check_output("/proc/self/out.csv", kind="file")
    with pytest.raises(UserError, match="not writable"):
        check_output("/proc/self/new/run", kind="dir")


def test_os_errors_at_creation_are_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the check passed but the file system said no at creation time (a race, a quota, EROFS, ...)
    def refuse(*_: object, **__: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    monkeypatch.setattr("tempfile.mkdtemp", refuse)
    with pytest.raises(UserError, match="permission denied"):
        write_text(tmp_path / "a.txt", "1")
    with pytest.raises(UserError, match="permission denied"), atomic_dir(tmp_path / "run"):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_respect_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        assert current_umask() == mask
        f = write_text(tmp_path / "a.txt", "1")
        with atomic_dir(tmp_path / "run") as tmp:
            (tmp / "inner.txt").write_text("2")
        plain = tmp_path / "plain.txt"
        plain.write_text("3")  # what open() gives, e.g. metrics.json beside an atomic output
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask == stat.S_IMODE(plain.stat().st_mode)
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o777 & ~mask


def test_interrupted_replace_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "run"
    with atomic_dir(d) as tmp:
        (tmp / "old").write_text("1")
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(src: str, dst: str) -> None:
        calls.append((src, dst))
        if len(calls) == 2:  # old folder moved aside, new one not yet in place
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), atomic_dir(d, force=True) as tmp:
        (tmp / "new").write_text("2")
    monkeypatch.setattr(os, "replace", real_replace)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in d.iterdir()] == ["old"]


# --- SIGTERM and SIGINT leave no temporary output (issue 10) ----------------------------------

_WRITER = """
import sys, time
from pathlib import Path
import typer
from sharedcore.atomic import atomic_dir, atomic_path
from sharedcore.console import make_app, run_cli

app = make_app("writer", "Writes a large atomic output slowly.", "0")

@app.command()
def folder(out: Path) -> None:
    with atomic_dir(out) as tmp:
        for i in range(2000):
            (tmp / f"part{i:05d}.bin").write_bytes(bytes(1 << 16))
            if i == 2:
                print("started", flush=True)
            time.sleep(0.01)

@app.command()
def file(out: Path) -> None:
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        for i in range(2000):
            fh.write(bytes(1 << 16))
            if i == 2:
                fh.flush()
                print("started", flush=True)
            time.sleep(0.01)

run_cli(app, "writer")
"""


def _start_and_signal(cmd: list[str], cwd: Path, sig: int, ready: Callable[[], bool]) -> tuple[int, str]:
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # SIGINT may be ignored by the suite (nohup, a background job)
    )
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the output never started"
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def _hidden_tmp(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
@pytest.mark.parametrize("kind", ["folder", "file"])
def test_signals_leave_no_temporary_output(tmp_path: Path, kind: str, sig: int, code: int, word: str) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    work = tmp_path / "work"
    work.mkdir()
    target = work / "big.out"

    def ready() -> bool:
        tmps = _hidden_tmp(work)
        if not tmps:
            return False
        return len(list(tmps[0].iterdir())) >= 3 if tmps[0].is_dir() else tmps[0].stat().st_size > 0

    rc, err = _start_and_signal([sys.executable, str(script), kind, str(target)], work, sig, ready)
    assert rc == code and err == f"writer: {word}\n"
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_real_cli_signal_leaves_no_temporary_folder(tmp_path: Path, sig: int, code: int) -> None:
    out = tmp_path / "data"

    def ready() -> bool:
        return any(
            len(list((t / "train").glob("*.jpg"))) >= 5
            for t in _hidden_tmp(tmp_path)
            if (t / "train").is_dir()
        )

    cmd = [sys.executable, "-m", "spillguard", "synth", "-o", str(out), "--n-train", "200000"]
    rc, err = _start_and_signal(cmd, tmp_path, sig, ready)
    assert rc == code and err.strip().splitlines()[-1] in (
        "spillguard: terminated",
        "spillguard: interrupted",
    )
    assert list(tmp_path.iterdir()) == []


def test_special_files_are_never_replaced_even_with_force(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for force in (False, True):
        with pytest.raises(UserError, match="not a regular file"):
            write_text(fifo, "x", force=force)
        with pytest.raises(UserError, match="not a regular file"):
            check_output("/dev/null", force=force, kind="file")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_an_output_that_would_replace_an_input_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "in" / "data.csv"
    data.parent.mkdir()
    data.write_text("a\nx\n")
    with pytest.raises(UserError, match=r"is the input .*data\.csv"):
        check_output(data, force=True, kind="file", inputs=[data])
    with pytest.raises(UserError, match="holds the input"):
        check_output(tmp_path / "in", force=True, kind="dir", inputs=[None, data])
    with pytest.raises(UserError, match="is the input"):  # through a link, too
        (tmp_path / "link").symlink_to(tmp_path / "in")
        check_not_input(tmp_path / "link", [tmp_path / "in"])
    # beside or inside the input is fine: nothing of it is replaced
    assert check_output(tmp_path / "in" / "model.json", kind="file", inputs=[data, tmp_path / "in"])
    assert check_output(tmp_path / "in" / "run", kind="dir", inputs=[data, tmp_path / "in"])
    assert data.read_text() == "a\nx\n"


def test_write_text_keeps_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    # a path from a Latin-1 file name holds surrogates: written as \\udcXX, which JSON reads back exactly
    import json

    name = os.fsdecode(b"caf\xe9.csv")
    write_text(tmp_path / "m.json", json.dumps({"source": name}, ensure_ascii=False))
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["source"] == name


# --- the output check looks below the output's own name (issue 10 leftover; research/spillguard_sweep.py)


def test_an_output_that_is_or_holds_an_input_is_refused_also_with_force(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.jpg").write_bytes(b"x")
    for out, inputs, what in [
        (data, [data], "is the input"),
        (tmp_path, [data / "train"], "holds the input"),
        (data / "train" / "a.jpg", [data / "train" / "a.jpg"], "is the input"),
        (data / "link", [data], "holds the input"),  # through a symbolic link
    ]:
        if out.name == "link":
            os.symlink(tmp_path, out)
        for kind in ("dir", "file", None):
            with pytest.raises(UserError, match=f"{what} .*which writing the output would destroy"):
                check_output(out, force=True, kind=kind, inputs=inputs)  # type: ignore[arg-type]
    assert check_output(data / "train" / "run", kind="dir", inputs=[data]) == data / "train" / "run"
    assert check_output(data / "new.csv", kind="file", inputs=[data]) == data / "new.csv"


def test_force_onto_a_folder_that_cannot_be_removed_is_refused_before_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old folder is removed after the rename with errors ignored: a subfolder whose files cannot
    be deleted left a hidden ``.run.old-PID.tmp`` behind. Refused first now (root may delete
    anything, so access(2) is simulated for the subfolder)."""
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "plots" / "a.png").write_bytes(b"x")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p).endswith("plots") else real_access(p, m))
    with pytest.raises(UserError, match=r"run: cannot be replaced: its folder .*plots is not writable"):
        check_output(run, force=True, kind="dir")
    with pytest.raises(UserError, match="cannot be replaced"), atomic_dir(run, force=True):
        pass
    monkeypatch.setattr(os, "access", real_access)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with atomic_dir(run, force=True) as tmp:
        (tmp / "new").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"] and [p.name for p in run.iterdir()] == [
        "new"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists and deletes in a 0000 folder")
def test_force_onto_a_folder_with_an_unlistable_subfolder_non_root(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "plots").chmod(0)
    try:
        with pytest.raises(UserError, match="cannot be replaced"):
            check_output(run, force=True, kind="dir")
    finally:
        (run / "plots").chmod(0o755)


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_a_signal_right_after_the_temporary_is_created_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Found by research/spillguard_sweep.py (SIGINT mid-synth left .data.*.tmp): a signal landing
    between mkdtemp/mkstemp and the clean-up's try left the temporary behind. It is held back now
    until the clean-up owns the temporary."""
    import signal
    import tempfile

    name = "mkdtemp" if kind == "dir" else "mkstemp"
    real = getattr(tempfile, name)

    def create_then_signal(*args: object, **kwargs: object) -> object:
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # delivered at once unless held back
        return made

    monkeypatch.setattr(tempfile, name, create_then_signal)
    with own_default_signals(), pytest.raises(KeyboardInterrupt):
        with atomic_dir(tmp_path / "out") if kind == "dir" else atomic_path(tmp_path / "out") as tmp:
            Path(tmp).exists()
            raise AssertionError("the signal was not delivered")  # pragma: no cover
    assert list(tmp_path.iterdir()) == []
