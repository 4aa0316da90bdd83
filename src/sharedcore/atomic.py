"""Atomic output: write to a temporary file or folder beside the target, then rename.

Nothing half-written is ever left under the final name, and existing user files are only
replaced when ``force`` is true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sharedcore.errors import UserError


def check_writable(path: str | os.PathLike[str], force: bool = False) -> Path:
    """Raise a UserError if ``path`` exists and ``force`` is false; return it as a Path."""
    p = Path(path)
    if p.exists() and not force:
        raise UserError(f"{p}: already exists; choose another output path or pass --force to overwrite it")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path in the target's folder; rename it onto ``path`` on success."""
    target = check_writable(path, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes, force: bool = False) -> Path:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str, force: bool = False) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"), force)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    An existing non-empty folder is only replaced with ``force``; on failure the temporary
    folder is removed and ``path`` is left as it was.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target}: exists and is not a folder; choose another output folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UserError(f"{target}: folder exists and is not empty; choose another or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
