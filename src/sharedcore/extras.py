"""Install extras: which optional packages each extra of ``avatargen-spillguard`` brings, and the one
line a command ends in when one of them is missing (a UserError, exit 2), never a traceback.

Two ways in, one message: a command declares its extras up front with :func:`require` (checked before
any work, nothing written), and the CLI entry point (``sharedcore.console.run_cli``) turns a
``ModuleNotFoundError`` of a package listed here, raised by an import inside a command, into the same
line with :func:`missing_package_error`. Heavy imports therefore live inside the commands that need
them, so that ``--help`` and torch-free scoring run on the core dependencies (numpy, Pillow, typer,
tqdm, PyYAML) plus the ``runtime`` extra. ``EXTRAS`` mirrors pyproject.toml (a test checks it).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass

from sharedcore.errors import UserError

#: The distribution these extras belong to (``pip install "avatargen-spillguard[EXTRA]"``).
DISTRIBUTION = "avatargen-spillguard"


@dataclass(frozen=True)
class Package:
    """One optional package: its top-level import name and its distribution (pip) name."""

    module: str
    name: str


def _p(module: str, name: str | None = None) -> Package:
    return Package(module, name or module)


_TORCH = _p("torch")
_SCIPY, _MATPLOTLIB = _p("scipy"), _p("matplotlib")
_TRAIN = (_TORCH, _SCIPY, _p("sklearn", "scikit-learn"), _MATPLOTLIB)
_ONNXRUNTIME = _p("onnxruntime")

#: extra -> the packages it installs that a command imports (as in pyproject.toml's
#: optional-dependencies; helpers such as uvicorn's httptools/uvloop are not imported by our code).
EXTRAS: dict[str, tuple[Package, ...]] = {
    "avatargen": (
        _p("pandas"),
        _p("pyarrow"),
        _SCIPY,
        _MATPLOTLIB,
        _p("python_avatars"),
        _p("resvg_py", "resvg-py"),
    ),
    "train": _TRAIN,
    "runtime": (_ONNXRUNTIME,),
    "export": (*_TRAIN, _p("onnx"), _p("onnxscript"), _ONNXRUNTIME),
    "serve": (
        _p("fastapi"),
        _p("uvicorn"),
        _p("prometheus_client", "prometheus-client"),
        _p("jinja2"),
        _p("multipart", "python-multipart"),
        _MATPLOTLIB,
        _SCIPY,
    ),
    "cluster": (_p("dask"), _p("distributed"), _p("pyarrow")),
    "plant": (_p("psycopg"), _p("psycopg_pool", "psycopg-pool"), _p("paho", "paho-mqtt")),
    "wandb": (_p("wandb"),),
}

#: Said after the install command when torch is among the missing: pip must not pick the CUDA build.
TORCH_NOTE = "(CPU: pip install torch==2.13.0 first)"


def install_command(extras: Sequence[str]) -> str:
    """``pip install "avatargen-spillguard[a,b]"`` for ``extras``."""
    return f'pip install "{DISTRIBUTION}[{",".join(extras)}]"'


def is_installed(module: str) -> bool:
    """Whether the top-level package ``module`` can be imported (found, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or an import hook that refuses it
        return False


def _message(what: str, missing: Sequence[Package], extras: Sequence[str]) -> str:
    names = [p.name for p in dict.fromkeys(missing)]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "is" if len(names) == 1 else "are"
    note = f" {TORCH_NOTE}" if any(p.module == _TORCH.module for p in missing) else ""
    return f"{what} needs {listed}, which {verb} not installed; {install_command(extras)}{note}"


def require(what: str, *extras: str, packages: Sequence[str] | None = None) -> None:
    """UserError (one line naming ``what``, the missing packages and the pip command) unless every
    package of ``extras`` (or only those of them whose import name is in ``packages``) is installed.
    Imports nothing."""
    for extra in extras:
        if extra not in EXTRAS:
            raise KeyError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    needed = {e: [p for p in EXTRAS[e] if packages is None or p.module in packages] for e in extras}
    missing = {e: [p for p in ps if not is_installed(p.module)] for e, ps in needed.items()}
    lacking = [e for e, ps in missing.items() if ps]
    if lacking:
        raise UserError(_message(what, [p for e in lacking for p in missing[e]], lacking))


def extra_of(module: str, prefer: Sequence[str] = ()) -> str | None:
    """The extra that installs top-level package ``module``: the first of ``prefer`` that lists it,
    else the first in ``EXTRAS``; None for a package of no extra."""
    for extra in [*prefer, *EXTRAS]:
        if any(p.module == module for p in EXTRAS.get(extra, ())):
            return extra
    return None


def missing_package_error(
    exc: ModuleNotFoundError, what: str, prefer: Sequence[str] = ()
) -> UserError | None:
    """The one-line UserError for ``exc`` when it says that a package of an extra is not installed
    (not merely that one of its submodules failed); None otherwise (then it is a bug)."""
    module = (exc.name or "").split(".")[0]
    extra = extra_of(module, prefer)
    if extra is None or is_installed(module):
        return None
    package = next(p for p in EXTRAS[extra] if p.module == module)
    return UserError(_message(what, [package], [extra]))


__all__ = [
    "DISTRIBUTION",
    "EXTRAS",
    "TORCH_NOTE",
    "Package",
    "extra_of",
    "install_command",
    "is_installed",
    "missing_package_error",
    "require",
]
