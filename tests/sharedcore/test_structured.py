"""The one JSON/YAML reader (sharedcore.structured): duplicate keys, nesting, encodings and random
text are a one-line UserError naming the file, or the parsed value; never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharedcore.errors import UserError
from sharedcore.structured import parse_yaml, read_json, read_yaml

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "text",
    [
        "depends_on: {a: b}\ndepends_on: {a: c}\n",  # top level (PyYAML alone keeps the last silently)
        "depends_on:\n  a: b\n  a: c\n",  # nested
        "- {x: 1, x: 2}\n",  # inside a list
    ],
    ids=["top", "nested", "in-list"],
)
def test_yaml_key_given_twice_is_refused(tmp_path: Path, text: str) -> None:
    p = _write(tmp_path, "r.yaml", text)
    with pytest.raises(
        UserError,
        match=r"r\.yaml: line \d+, column \d+: malformed YAML \(key '(depends_on|a|x)' appears twice",
    ):
        read_yaml(p)


def test_yaml_reads_what_safe_load_reads(tmp_path: Path) -> None:
    text = "\ufeffa: 1\r\nb: [x, {c: d}]\r\nanchor: &k {q: 1}\nuse: *k\nmerge:\n  <<: *k\n  r: 2\n"
    assert read_yaml(_write(tmp_path, "ok.yaml", text)) == yaml.safe_load(text.lstrip("\ufeff"))
    assert read_yaml(_write(tmp_path, "empty.yaml", "")) is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("[" * 100_000 + "]" * 100_000, "YAML nested too deeply"),
        (b"a: \xff\n", r"not UTF-8 text \(byte 3\)"),
        ("a: !!python/object/apply:os.system ['true']\n", "malformed YAML"),
        ("? [1, 2]\n: x\n", "a mapping key is a list or mapping"),
        ("a: [1\n", r"line \d+, column \d+: malformed YAML"),
    ],
    ids=["deep", "latin1", "python-tag", "list-key", "syntax"],
)
def test_yaml_problems_are_one_line(tmp_path: Path, data: str | bytes, match: str) -> None:
    with pytest.raises(UserError, match=match) as err:
        read_yaml(_write(tmp_path, "x.yaml", data))
    assert "\n" not in str(err.value) and str(err.value).startswith(str(tmp_path / "x.yaml"))


def test_json_duplicates_depth_and_encoding(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="key 'a' appears twice"):
        read_json(_write(tmp_path, "d.json", '{"a": 1, "a": 2}'))
    with pytest.raises(UserError, match="JSON nested too deeply"):
        read_json(_write(tmp_path, "n.json", "[" * 100_000 + "]" * 100_000))
    with pytest.raises(UserError, match="not UTF-8"):
        read_json(_write(tmp_path, "u.json", '{"a": "\xff"}'.encode("latin-1")))
    assert read_json(_write(tmp_path, "b.json", '\ufeff{"a": [1]}')) == {"a": [1]}


def _user_error_or_value(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except UserError as exc:
        assert "\n" not in str(exc)


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!?|>'\"#%@`x1.\\")), max_size=80))
def test_yaml_random_text(text: str) -> None:
    _user_error_or_value(parse_yaml, text, "r.yaml")


@FAST
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".yaml", ".json"]))
def test_random_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    p = _write(tmp_path, f"x{suffix}", data)
    _user_error_or_value(read_yaml if suffix == ".yaml" else read_json, p)


# PyYAML writes NEL / LS / PS (YAML line breaks) unescaped with allow_unicode and reads them back as
# folded whitespace: a PyYAML round-trip quirk, not a reader defect, so the strings leave them out.
_text = st.text(alphabet=st.characters(exclude_characters="\x85\u2028\u2029"), max_size=5)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@FAST
@given(obj=values)
def test_yaml_round_trip_of_random_mappings(obj: Any) -> None:
    # any value PyYAML dumps (it never writes a key twice) reads back equal
    assert parse_yaml(yaml.safe_dump(obj, allow_unicode=True), "r.yaml") == obj
