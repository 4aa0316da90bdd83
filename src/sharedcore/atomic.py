"""Atomic output: write to a temporary file or folder beside the target, then rename.

Nothing half-written is ever left under the final name, and existing user files are only
replaced when ``force`` is true. Output paths are checked before any work (:func:`check_output`),
so that a read-only folder, a parent that is a file, a name too long for the file system or a
file where a folder should go is a one-line UserError, never an OSError traceback after minutes
of computing. Outputs get the permissions of a normal file/folder under the user's umask
(files ``0666 & ~umask``, folders ``0777 & ~umask``), not the private 0600/0700 of ``mkstemp``.

Temporary names are hidden: ``.<name>.<random>.tmp``. They are removed on any exception, including
KeyboardInterrupt and the SIGTERM that ``sharedcore.console.run_cli`` turns into one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from sharedcore.errors import UserError

Kind = Literal["file", "dir"]

# Longest part of the target's name kept in the temporary name (the rest is 8 random chars + ".tmp").
_TMP_STEM = 64


def current_umask() -> int:
    """The process umask (read from /proc where possible, which does not change it even briefly)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _os_error(path: Path, exc: OSError, what: str = "cannot write") -> UserError:
    """A one-line UserError for an OSError met while creating an output at ``path``."""
    reason = {
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.ENAMETOOLONG: "a name in the path is too long for the file system",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
        errno.EEXIST: "it already exists",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return UserError(f"{path}: {what} ({reason}); choose another output path or fix the permissions")


def check_output(
    path: str | os.PathLike[str],
    force: bool = False,
    kind: Kind | None = None,
    inputs: Sequence[object] = (),
) -> Path:
    """Check that an output can be written at ``path`` before any work; return it as a Path.

    ``kind`` is "file" (a file will be written), "dir" (a folder will be created, or replaced as a
    whole with ``force``) or None (either). Raises a one-line UserError when the output exists and
    ``force`` is false (a folder only when it is not empty), when a file would replace a folder or a
    folder a file (even with ``force``), when a part of the path is a file, a name is too long for
    the file system, or the nearest existing folder cannot be written. An existing output that is
    not a regular file or folder (a FIFO, a device such as /dev/null, a socket) is never replaced.
    ``inputs`` are the paths the command reads: an output that would replace one of them (the same
    file, or a folder output holding an input) is refused, with or without ``force``. A folder replaced with
    ``force`` must be removable as a whole (no subfolder that cannot be listed or written), so that the
    old one never stays behind as a hidden ``.old`` folder.
    """
    p = Path(path)
    if str(p) in ("", "."):
        raise UserError("output path is empty; name a file or folder")
    check_not_input(p, inputs)
    # The nearest existing ancestor must be a writable folder; every part below it will be created.
    absolute = Path(os.path.abspath(p))
    to_create: list[str] = []
    anc = absolute
    while _stat(p, anc) is None and anc != anc.parent:
        if anc.is_symlink() and anc != absolute:
            raise UserError(f"{p}: {anc} is a broken symbolic link; fix it or choose another output path")
        to_create.append(anc.name)
        anc = anc.parent
    if anc == absolute:  # the output itself exists
        if absolute.is_dir():
            if kind == "file":
                raise UserError(f"{p}: is a folder; name a file to write (e.g. {p / 'out'})")
            if kind == "dir" and not force and _non_empty(p):
                raise UserError(f"{p}: folder exists and is not empty; choose another or pass --force")
            if kind == "dir" and force:
                _check_removable(p)
            if kind is None and not force:
                raise UserError(
                    f"{p}: already exists; choose another output path or pass --force to overwrite it"
                )
        elif not absolute.is_file():
            raise UserError(
                f"{p}: exists and is not a regular file (a FIFO, device or socket); choose another output path"
            )
        elif kind == "dir":
            raise UserError(f"{p}: exists and is not a folder; choose another output folder")
        elif not force:
            raise UserError(
                f"{p}: already exists; choose another output path or pass --force to overwrite it"
            )
        anc = absolute.parent
    elif not anc.is_dir():
        raise UserError(f"{p}: {anc} is a file, not a folder; choose another output path")
    if not os.access(anc, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if _read_only_fs(anc) else "is not writable"
        raise UserError(f"{p}: folder {anc} {why}; choose another output path or fix the permissions")
    return p


def check_not_input(output: str | os.PathLike[str], inputs: Sequence[object]) -> None:
    """UserError when writing ``output`` would replace one of ``inputs``: the same file or folder, or
    (a folder output, which is replaced as a whole) a folder that holds an input."""
    out = Path(os.path.realpath(output))
    for given in inputs:
        if not isinstance(given, str | os.PathLike):  # None, or data given in memory
            continue
        inp = Path(os.path.realpath(given))
        if out == inp or out in inp.parents:
            what = "is" if out == inp else "holds"
            raise UserError(
                f"{output}: {what} the input {given}, which writing the output would destroy "
                "(also with --force); choose another output path"
            )


def _check_removable(folder: Path) -> None:
    """UserError unless every subfolder of ``folder`` can be listed and written (so it can be removed)."""

    def fail(err: OSError) -> None:
        raise UserError(
            f"{folder}: cannot be replaced: {err.filename} cannot be listed ({err.strerror}); fix its "
            "permissions or choose another output path"
        )

    for top, dirs, _files in os.walk(folder, onerror=fail, followlinks=False):
        for d in [top, *(os.path.join(top, n) for n in dirs if not os.path.islink(os.path.join(top, n)))]:
            if not os.access(d, os.W_OK | os.X_OK | os.R_OK):
                raise UserError(
                    f"{folder}: cannot be replaced: its folder {d} is not writable, so its files could not be "
                    "removed; fix its permissions or choose another output path"
                )


def _stat(shown: Path, path: Path) -> os.stat_result | None:
    """stat() of ``path``, None when it does not exist; a one-line UserError for names too long."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            longest = max(path.parts, key=lambda part: len(os.fsencode(part)))
            raise UserError(
                f"{shown}: the name '{longest[:40]}...' is {len(os.fsencode(longest))} bytes, longer than "
                f"this file system allows; choose a shorter name"
            ) from None
        if exc.errno == errno.ENOTDIR:
            return None  # a part above is a file: found and reported by the caller
        if exc.errno == errno.ELOOP:
            raise UserError(
                f"{shown}: symbolic link loop in the path; fix it or choose another path"
            ) from None
        raise _os_error(shown, exc, "cannot check") from None


def _non_empty(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError as exc:
        raise _os_error(folder, exc, "cannot list") from None


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM while creating or cleaning up a temporary (delivered right after).

    The handlers are swapped for a recorder rather than the signals masked: a process-directed signal
    goes to any thread that does not block it (torch's and decoding threads), and Python runs its
    handler in the main thread at once, mask or not.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is not None:  # None: installed outside Python, left alone
            old[sig] = handler
            signal.signal(sig, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for signum, previous in old.items():
            signal.signal(signum, previous)
        if got:
            handler = old[got[0]]
            if callable(handler):
                handler(got[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(got[0])


def _mkdirs(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(target, exc, "cannot create its folder") from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path in the target's folder; rename it onto ``path`` on success."""
    target = check_output(path, force, kind="file")
    _mkdirs(target)
    tmp_path: Path | None = None
    try:
        with _signals_deferred():  # as in atomic_dir: no signal between creating the file and owning it
            try:
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{target.name[:_TMP_STEM]}.", suffix=".tmp", dir=target.parent
                )
            except OSError as exc:
                raise _os_error(target, exc) from None
            tmp_path = Path(tmp)
        os.fchmod(fd, 0o666 & ~current_umask())
        os.close(fd)
        yield tmp_path
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise _os_error(target, exc, "cannot replace") from None
    except BaseException:
        with _signals_deferred():
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes, force: bool = False) -> Path:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str, force: bool = False) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``. Characters UTF-8 cannot hold (the surrogates Python
    uses for a file name that is not UTF-8) are written as ``\\uXXXX``, which JSON reads back exactly."""
    return write_bytes(path, text.encode("utf-8", errors="backslashreplace"), force)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    An existing non-empty folder is only replaced with ``force``; on failure (or interruption) the
    temporary folder is removed and ``path`` is left as it was.
    """
    target = check_output(path, force, kind="dir")
    _mkdirs(target)
    old: Path | None = None
    committed = False
    tmp: Path | None = None
    try:
        # a signal between creating the folder and owning its clean-up would leave it behind: held back
        # until ``tmp`` is set, then delivered here, inside the clean-up's reach
        with _signals_deferred():
            try:
                tmp = Path(
                    tempfile.mkdtemp(prefix=f".{target.name[:_TMP_STEM]}.", suffix=".tmp", dir=target.parent)
                )
            except OSError as exc:
                raise _os_error(target, exc, "cannot create") from None
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        try:
            if target.exists():
                old = target.with_name(f".{target.name[:_TMP_STEM]}.old-{os.getpid()}.tmp")
                os.replace(target, old)
                os.replace(tmp, target)
                committed = True
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
                committed = True
        except OSError as exc:
            raise _os_error(target, exc, "cannot replace") from None
    except BaseException:
        with _signals_deferred():
            if old is not None and old.exists():
                if committed:
                    shutil.rmtree(old, ignore_errors=True)
                elif not target.exists():
                    os.replace(old, target)  # put the user's folder back
            if not committed and tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        raise
