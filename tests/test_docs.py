"""The generated reference pages of the documentation site (docs/hooks/) name everything they should:
every command and option, every route, every configuration field, the limits and the exit codes.
`make docs` (mkdocs build --strict, run by CI) builds the pages themselves."""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "docs" / "hooks"))

import cli_commands  # noqa: E402  (docs/hooks)
import generated  # noqa: E402


def _walk(command: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    found = {path: command}
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found |= _walk(sub, (*path, name))
    return found


@pytest.mark.parametrize("tool", ["avatargen", "spillguard"])
def test_the_cli_reference_has_every_command_and_option_of_the_typer_app(tool: str) -> None:
    import typer.main

    module = __import__(f"{tool}.cli", fromlist=["app"])
    typer_tree = _walk(typer.main.get_command(module.app))
    click_tree = _walk(getattr(cli_commands, tool))
    assert set(click_tree) == set(typer_tree) and len(typer_tree) > 5
    for path, command in typer_tree.items():
        options = {o for p in command.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
        shown = {o for p in click_tree[path].params for o in (*p.opts, *p.secondary_opts)}
        assert shown == options, (tool, path)
        if command.params and any(not hasattr(p, "is_flag") for p in command.params):
            assert "**Arguments:**" in (click_tree[path].help or ""), (tool, path)


def test_the_cli_reference_renders_an_options_table_through_mkdocs_click() -> None:
    from mkdocs_click._docs import make_command_docs

    text = "\n".join(make_command_docs("spillguard", cli_commands.spillguard, depth=1, style="table"))
    assert "| `--require-auc` | float |" in text and "| `--partition-size` | integer |" in text


def _api_routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route in the schema, through included routers (FastAPI keeps an
    included APIRouter as one entry holding its routes, each with its whole path)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)
        elif getattr(r, "include_in_schema", False):
            yield from ((m, r.path) for m in getattr(r, "methods", ()) if m != "HEAD")


def test_the_spillguard_http_reference_lists_every_route_of_the_app() -> None:
    with generated._spillguard_app() as app:
        routes = set(_api_routes(app.routes))
    text = generated.openapi_spillguard()
    assert len(routes) > 8
    for method, path in routes:
        assert f"### `{method} {path}`" in text, (method, path)
    assert "[ErrorOut](#schema-errorout)" in text and "{: #schema-errorout }" in text


def test_the_avatargen_http_reference_lists_the_pins_and_the_schemas() -> None:
    text = generated.openapi_avatargen()
    for route in ("GET /v1/avatar.png", "GET /v1/style", "POST /v1/probability", "GET /v1/posterior"):
        assert f"### `{route}`" in text
    assert "| `hairstyle` | query |" in text  # a pin of the example model, with its values
    assert "## Schemas" in text


def test_the_configuration_reference_has_every_field_with_its_range() -> None:
    from spillguard.config import FIELD_CHECKS, TrainConfig

    text = generated.config_fields()
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines()[2:]}
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    assert list(rows) == names
    assert set(FIELD_CHECKS) == set(names)
    assert "integer, 1 to 256" in rows["smooth"] and "`16`" in rows["smooth"]
    assert "number, above 0 and below 1" in rows["val_fraction"]
    assert "`conv_ae_head`" in rows["model"] and "unset" in rows["threshold_rule"]
    assert all(row.split("|")[2].strip() for row in rows.values()), "a field without accepted values"


def test_the_limits_reference_has_the_constants_and_the_exit_codes() -> None:
    found = {name: (value, comment) for _, name, _, value, comment in generated.limit_constants()}
    from avatargen.styles.model import SAMPLE_MAX
    from sharedcore.validate import SEED_MAX

    assert found["SAMPLE_MAX"][0] == SAMPLE_MAX and found["SEED_MAX"][0] == SEED_MAX
    assert found["SEED_MAX"][1]  # its comment travels with it
    assert "| `spillguard.config` | `CONFIG_BYTES_MAX` | 262,144 (`256 * 1024`) |" in generated.limits()
    codes = generated.exit_codes()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 130 |", "| 143 |"):
        assert code in codes


def test_the_committed_pictures_are_small_and_each_is_shown_somewhere() -> None:
    """docs/images holds what docs/screenshots.py writes; each picture is used by a page or the README."""
    pictures = sorted((REPO / "docs" / "images").rglob("*.png"))
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "docs").rglob("*.md"))
    pages += (REPO / "README.md").read_text(encoding="utf-8")
    assert len(pictures) >= 7
    for picture in pictures:
        assert picture.stat().st_size < 300_000, picture
        assert str(picture.relative_to(REPO / "docs" / "images")) in pages, f"{picture.name} is shown nowhere"


def test_every_link_of_the_readme_leads_to_a_file() -> None:
    """The README points into docs/; the site build checks the pages' links, this checks the README's."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#", 1)[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    assert len(targets) > 10
    missing = [t for t in targets if t and not (REPO / t).exists()]
    assert missing == [], f"README links to missing files: {missing}"


def test_the_contributing_page_lists_every_registered_marker() -> None:
    import tomllib

    markers = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    text = generated.test_markers()
    assert len(markers) >= 2
    for marker in markers:
        assert f"- `{marker.split(':')[0].strip()}`:" in text
