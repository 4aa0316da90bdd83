"""Kept images as content-addressed files beside any database: ``ROOT/ab/<sha256>.jpg``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

EXT = {"JPEG": "jpg", "PNG": "png"}


class ImageFiles:
    """Content-addressed image files: ``ROOT/ab/<sha256>.jpg``; written atomically, never twice."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, sha256: str, fmt: str) -> Path:
        """Where the image with this digest and format lives."""
        return self.root / sha256[:2] / f"{sha256}.{EXT.get(fmt, 'bin')}"

    def put(self, sha256: str, fmt: str, data: bytes) -> Path:
        """Write ``data`` unless a file with that digest exists (same digest, same bytes)."""
        p = self.path(sha256, fmt)
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=p.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, p)
        return p

    def exists(self, sha256: str, fmt: str) -> bool:
        """Whether the file of this digest is there."""
        return self.path(sha256, fmt).is_file()

    def get(self, sha256: str, fmt: str) -> bytes | None:
        """The stored bytes, or None when the file is not there."""
        try:
            return self.path(sha256, fmt).read_bytes()
        except OSError:
            return None
