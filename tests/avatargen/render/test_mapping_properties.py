"""Issue 10, mapping files: random YAML structures and mutations of the built-in mapping are a
UserError or a valid mapping, never anything else; deep nesting is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatargen.render.mapping import builtin_path, load_mapping, parse_mapping
from sharedcore.errors import UserError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _ok_or_user_error(data: Any) -> None:
    try:
        parse_mapping(data, "m.yaml")
    except UserError as exc:
        assert "\n" not in str(exc)


@FAST
@given(data=values)
def test_random_structures(data: Any) -> None:
    _ok_or_user_error(data)


@FAST
@given(key=st.sampled_from(["format_version", "attributes", "defaults", "name"]), value=values)
def test_mutations_of_the_builtin_mapping(key: str, value: Any) -> None:
    data = yaml.safe_load(builtin_path("english").read_text(encoding="utf-8"))
    data[key] = value
    _ok_or_user_error(data)


def test_deep_yaml_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "deep.yaml"
    p.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UserError, match="nested too deeply"):
        load_mapping(p)
