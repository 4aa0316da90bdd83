from __future__ import annotations

from pathlib import Path

import pytest

from sharedcore.atomic import atomic_dir, atomic_path, write_text
from sharedcore.errors import UserError


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
