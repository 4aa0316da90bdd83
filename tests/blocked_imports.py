"""Run code as if only some packages were installed: a child Python whose import hook (a meta path
finder in front of all the others) finds none of the named third-party top-level packages, or none
outside an allowed set, exactly as when they are missing (`import` raises ModuleNotFoundError,
`importlib.util.find_spec` returns None). Used by the tests of the install extras."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

#: Our own packages: never blocked.
OURS = ("avatargen", "spillguard", "sharedcore")

# The child's prelude: install the hook, then run the given code; on the way out (also after an
# exception, printed first, or SystemExit) print the top-level modules imported as the last stderr line.
PRELUDE = textwrap.dedent(
    """
    import importlib.abc, json, sys
    _spec = json.loads(sys.argv[1])
    _allow = None if _spec["allow"] is None else set(_spec["allow"]) | set(_spec["ours"])
    _block = set(_spec["block"])

    def _refused(top):
        return top in _block or (
            _allow is not None
            and top not in _allow
            and top not in sys.stdlib_module_names
            and not top.startswith("_")
        )

    # Every finder of this Python behind one that finds nothing of a refused package: as if it were
    # not installed (`import` raises ModuleNotFoundError, `importlib.util.find_spec` gives None).
    class _Only(importlib.abc.MetaPathFinder):

        def __init__(self, finders):
            self.finders = finders

        def find_spec(self, name, path=None, target=None):
            if _refused(name.split(".")[0]):
                return None
            for finder in self.finders:
                spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
                if spec is not None:
                    return spec
            return None

        def invalidate_caches(self):
            for finder in self.finders:
                getattr(finder, "invalidate_caches", lambda: None)()

    sys.meta_path[:] = [_Only(list(sys.meta_path))]
    del sys.argv[1]
    _rc = 0
    try:
        exec(compile(_spec["code"], "<blocked>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        _rc = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        import traceback

        traceback.print_exc()
        _rc = 1
    sys.stdout.flush()
    print(json.dumps(sorted({m.split(".")[0] for m in list(sys.modules)})), file=sys.stderr)
    sys.exit(_rc)
    """
)


@dataclass(frozen=True)
class Blocked:
    """A finished child: exit code, stdout, stderr without the hook's own last line, modules imported."""

    returncode: int
    stdout: str
    stderr: str
    modules: frozenset[str]

    def error_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def run_blocked(
    code: str,
    *args: str,
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    cwd: Path | None = None,
    timeout: float = 300,
) -> Blocked:
    """Run ``code`` (with ``sys.argv[1:] == args``) in a child Python that cannot import ``block``,
    nor, when ``allow`` is given, any third-party top-level package outside it."""
    spec = {
        "allow": None if allow is None else sorted(allow),
        "block": sorted(block),
        "ours": OURS,
        "code": code,
    }
    res = subprocess.run(
        [sys.executable, "-c", PRELUDE, json.dumps(spec), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    lines = res.stderr.rstrip("\n").split("\n")
    try:
        modules = frozenset(json.loads(lines[-1]))
    except (json.JSONDecodeError, IndexError):
        raise AssertionError(f"the child did not report its modules:\n{res.stderr[-3000:]}") from None
    return Blocked(res.returncode, res.stdout, "\n".join(lines[:-1]), modules)


def run_cli_blocked(
    prog: str,
    *args: str,
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    cwd: Path | None = None,
) -> Blocked:
    """``python -m PROG ARGS...`` (the real CLI entry point) with the import hook of :func:`run_blocked`."""
    code = f"import runpy, sys\nsys.argv[0] = {prog!r}\nrunpy.run_module({prog!r}, run_name='__main__')\n"
    return run_blocked(code, *args, allow=allow, block=block, cwd=cwd)


def declared(*groups: str) -> list[str]:
    """The requirement strings of pyproject.toml: ``core`` (the dependencies) and/or extras by name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out: list[str] = []
    for g in groups:
        out += project["dependencies"] if g == "core" else project["optional-dependencies"][g]
    return out


def distribution_closure(requirements: Iterable[str]) -> set[str]:
    """Canonical names of the installed distributions that ``requirements`` pull in, transitively
    (markers evaluated here, extras followed), as pip would install them."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen or key[0] == "avatargen-spillguard":
            continue
        seen.add(key)
        for sub in metadata.requires(req.name) or []:
            r = Requirement(sub)
            for e in req.extras or {""}:
                todo.append((r, e))
    return {name for name, _ in seen}


def top_level_modules(distributions: Iterable[str]) -> set[str]:
    """The top-level import names the installed ``distributions`` provide."""
    wanted = {canonicalize_name(d) for d in distributions}
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(canonicalize_name(d) in wanted for d in dists)
    }


def importable_with(*groups: str) -> set[str]:
    """Top-level modules an install of ``groups`` (see :func:`declared`) provides."""
    return top_level_modules(distribution_closure(declared(*groups)))
