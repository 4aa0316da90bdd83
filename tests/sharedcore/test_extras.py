"""sharedcore.extras: the table of install extras matches pyproject.toml, `require` names exactly the
missing packages and the pip command, and run_cli turns a missing package into that line (exit 2)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import typer
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sharedcore import extras
from sharedcore.console import run_cli
from sharedcore.errors import UserError
from sharedcore.extras import EXTRAS, extra_of, install_command, missing_package_error, require

REPO = Path(__file__).resolve().parents[2]
# In pyproject extras, never imported by our code: uvicorn's optional speed-ups.
NOT_IMPORTED = {"httptools", "uvloop"}


def _pyproject_extra(name: str, optional: dict[str, list[str]]) -> set[str]:
    """Canonical distribution names of an extra, its self-references (avatargen-spillguard[x]) expanded."""
    out: set[str] = set()
    for r in map(Requirement, optional[name]):
        if canonicalize_name(r.name) == "avatargen-spillguard":
            for sub in r.extras:
                out |= _pyproject_extra(sub, optional)
        else:
            out.add(canonicalize_name(r.name))
    return out


def test_the_table_is_the_pyproject_extras() -> None:
    optional = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra, packages in EXTRAS.items():
        declared = _pyproject_extra(extra, optional)
        listed = {canonicalize_name(p.name) for p in packages}
        assert listed == declared - NOT_IMPORTED, extra
    assert set(optional["all"][0].split("[")[1].rstrip("]").split(",")) == set(EXTRAS) - {"wandb"}


def test_import_names_are_those_of_the_installed_distributions() -> None:
    provided = metadata.packages_distributions()  # this venv has every extra
    for packages in EXTRAS.values():
        for p in packages:
            assert canonicalize_name(p.name) in {canonicalize_name(d) for d in provided[p.module]}, p


def test_require_names_only_the_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    require("x", *EXTRAS)  # everything is installed here
    monkeypatch.setattr(extras, "is_installed", lambda m: m not in {"pandas", "torch", "sklearn"})
    with pytest.raises(UserError) as err:
        require("avatargen styles fit", "avatargen")
    assert str(err.value) == (
        'avatargen styles fit needs pandas, which is not installed; pip install "avatargen-spillguard[avatargen]"'
    )
    with pytest.raises(UserError) as err:
        require("spillguard serve RUN", "serve", "train")
    assert str(err.value) == (
        "spillguard serve RUN needs torch and scikit-learn, which are not installed; "
        'pip install "avatargen-spillguard[train]" (CPU: pip install torch==2.13.0 first)'
    )
    require("spillguard report", "train", packages=("matplotlib",))  # only that one is checked
    with pytest.raises(KeyError):
        require("x", "no-such-extra")


def test_extra_of_prefers_the_tools_own() -> None:
    assert extra_of("scipy") == "avatargen"
    assert extra_of("scipy", prefer=("train",)) == "train"
    assert extra_of("numpy") is None
    assert install_command(["a", "b"]) == 'pip install "avatargen-spillguard[a,b]"'


def test_run_cli_turns_a_missing_package_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = typer.Typer()

    @app.command()
    def score(missing: str) -> None:
        raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)

    @app.command()
    def other() -> None: ...

    monkeypatch.setattr(extras, "is_installed", lambda m: m != "distributed")
    with pytest.raises(SystemExit) as end:
        run_cli(app, "tool", ["score", "distributed"], extras=("cluster",))
    assert end.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "tool: error: tool score needs distributed, which is not installed; "
        'pip install "avatargen-spillguard[cluster]"'
    ]
    # an installed package's submodule that fails, or a package of no extra, stays a bug (exit 1)
    monkeypatch.setenv("SHAREDCORE_CRASH_DIR", str(tmp_path))
    for name in ("dask.nope", "leftpad"):
        exc = ModuleNotFoundError("x", name=name)
        assert missing_package_error(exc, "tool score") is None
        with pytest.raises(SystemExit) as end:
            run_cli(app, "tool", ["score", name])
        assert end.value.code == 1 and "internal error" in capsys.readouterr().err
