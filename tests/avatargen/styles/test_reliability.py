"""Issue 10, styles: numbers out of range, structures that break assumptions, damaged model files,
and property tests (random bytes, random JSON, truncations and mutations of valid files) asserting
"a UserError or a valid result, never anything else"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatargen.styles.data import EXAMPLE_STYLES, counts_from_mapping, frame_to_data, load_styles
from avatargen.styles.estimate import PAIR_CELLS_MAX
from avatargen.styles.model import MOST_PROBABLE_MAX, SAMPLE_MAX, StyleModel
from avatargen.styles.rules import rules_from_mapping
from sharedcore.errors import UserError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model_json() -> dict[str, Any]:
    return StyleModel(alpha=1.0).fit(load_styles(EXAMPLE_STYLES)).to_json()


# ------------------------------------------------------------------------ numbers out of range


@pytest.mark.parametrize(
    "counts",
    [{"x": 1e300, "y": 1}, {"x": 10**30, "y": 1}, {"x": 2**62, "y": 2**62}, {"x": 2**52, "y": 2**52 + 1}],
    ids=["1e300", "10**30", "2x2**62", "total-over-2**53"],
)
def test_huge_counts_are_one_line_errors(tmp_path: Path, counts: dict[str, Any]) -> None:
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"attributes": {"a": counts}}), encoding="utf-8")
    with pytest.raises(UserError, match=r"c\.json: attribute 'a'.*(out of range|add up to more than)"):
        load_styles(p)


def test_alpha_so_large_that_no_style_is_possible_is_refused_at_fit() -> None:
    with pytest.raises(UserError, match=r"--alpha: 1e\+308 is too large"):
        StyleModel(alpha=1e308).fit(load_styles(EXAMPLE_STYLES))
    with pytest.raises(UserError, match=r"--alpha: inf is not a finite number"):
        StyleModel(alpha=float("inf")).fit(load_styles(EXAMPLE_STYLES))
    assert StyleModel(alpha=1e300).fit(load_styles(EXAMPLE_STYLES)).n_styles() > 0  # large but computable


@pytest.mark.parametrize("p", [-1.0, 0.0, float("nan"), 1.5])
def test_edge_pvalue_outside_0_1_is_refused(p: float) -> None:
    with pytest.raises(UserError, match=r"--edge-pvalue: .* use a finite number > 0 and <= 1"):
        StyleModel(edge_pvalue=p).fit(load_styles(EXAMPLE_STYLES))


def test_sample_and_most_probable_have_a_stated_maximum(model_json: dict[str, Any]) -> None:
    m = StyleModel.from_json(model_json)
    with pytest.raises(
        UserError, match=rf"-n: 1000000000 is out of range; use an integer from 0 to {SAMPLE_MAX}"
    ):
        m.sample(1_000_000_000, np.random.default_rng(0))
    with pytest.raises(UserError, match=rf"most-probable\): 1000000000 .* 0 to {MOST_PROBABLE_MAX}"):
        m.most_probable(1_000_000_000)
    assert len(m.most_probable(3)) == 3


# ------------------------------------------------------------------------------- structures


def test_json_nested_100000_levels_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UserError, match=r"deep\.json: JSON nested too deeply"):
        load_styles(p)
    with pytest.raises(UserError, match="nested too deeply"):
        StyleModel.load(p)


def test_unknown_top_level_key_of_a_counts_file_is_refused() -> None:
    with pytest.raises(UserError, match=r"c\.json: unknown key 'atributes_extra'; allowed at the top level"):
        counts_from_mapping({"attributes": {"a": {"x": 1}}, "atributes_extra": {}}, "c.json")


def test_pair_table_limit_names_the_columns_before_allocating() -> None:
    k = int(np.sqrt(PAIR_CELLS_MAX)) + 100  # k*k cells > the limit
    ids = np.arange(k)
    df = pd.DataFrame({"id_a": ids.astype(str), "id_b": ids[::-1].astype(str), "c": ["x", "y"] * (k // 2)})
    d = frame_to_data(df, "wide.csv")
    with pytest.raises(
        UserError, match=r"wide\.csv: columns 'id_a' and 'id_b' have .* --structure independent"
    ):
        StyleModel().fit(d)
    m = StyleModel(structure="independent").fit(d)  # no pair table needed: fits
    assert m.parents_ == {"id_a": None, "id_b": None, "c": None}


# ------------------------------------------------------------------------ damaged model files


@pytest.mark.parametrize(
    ("mutate", "what"),
    [
        (lambda o: o["cpts"][0][0].__setitem__(slice(0, 2), [1.5, -0.5]), "holds the probability 1.5"),
        (lambda o: o["cpts"][1][0].__setitem__(0, o["cpts"][1][0][0] + 0.3), "does not sum to 1"),
        (lambda o: o.pop("cpts"), "missing entry 'cpts'"),
        (
            lambda o: o["counts"].__setitem__(
                o["attributes"][0], [-1] * len(o["values"][o["attributes"][0]])
            ),
            "counts of",
        ),
        (lambda o: o.__setitem__("n_rows", "many"), "n_rows"),
        (lambda o: o["params"].__setitem__("alpha", -1), "params.alpha"),
        (lambda o: o["training_styles"].__setitem__("int64_keys_base64", "!!"), "damaged"),
    ],
    ids=["1.5/-0.5", "row-sum", "no-cpts", "negative-counts", "n_rows", "alpha", "base64"],
)
def test_damaged_style_model_file(model_json: dict[str, Any], tmp_path: Path, mutate: Any, what: str) -> None:
    obj = json.loads(json.dumps(model_json))
    mutate(obj)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(UserError) as err:
        StyleModel.load(p)
    msg = str(err.value)
    assert msg.startswith(f"damaged model file: {p}: ") and msg.endswith(
        "; retrain or re-save it (`avatargen styles fit`)"
    )
    assert what in msg


# ----------------------------------------------------------------------------- property tests


def _user_error_or_valid(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except UserError as exc:
        assert "\n" not in str(exc)
        return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@FAST
@given(obj=json_values)
def test_counts_loader_random_json(obj: Any) -> None:
    d = _user_error_or_valid(counts_from_mapping, obj, "c.json")
    if d is not None:
        assert all((c >= 0).all() and c.sum() > 0 for c in d.counts.values())


@FAST
@given(
    obj=st.dictionaries(
        st.text(max_size=6), st.dictionaries(st.text(max_size=4), json_values, max_size=4), max_size=3
    )
)
def test_counts_loader_random_attribute_tables(obj: Any) -> None:
    d = _user_error_or_valid(counts_from_mapping, {"attributes": obj}, "c.json")
    if d is not None:
        assert set(d.attributes) <= {a.strip() for a in obj}
        m = _user_error_or_valid(lambda x: StyleModel().fit(x), d)
        assert m is None or m.n_styles() >= 1


@FAST
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".json", ".parquet"]))
def test_rows_and_counts_loaders_random_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    p = tmp_path / f"x{suffix}"
    p.write_bytes(data)
    d = _user_error_or_valid(load_styles, p)
    if d is not None:
        assert d.attributes and all(len(d.values[a]) >= 1 for a in d.attributes)


@FAST
@given(cut=st.integers(min_value=0, max_value=4000))
def test_rows_loader_truncations(tmp_path: Path, cut: int) -> None:
    text = EXAMPLE_STYLES.read_bytes()
    p = tmp_path / "t.csv"
    p.write_bytes(text[: cut % (len(text) + 1)])
    d = _user_error_or_valid(load_styles, p)
    if d is not None and d.codes is not None:
        assert d.codes.shape[1] == len(d.attributes)


@FAST
@given(obj=json_values)
def test_rules_parser_random_json(obj: Any) -> None:
    _user_error_or_valid(rules_from_mapping, obj, "r.yaml")


@FAST
@given(
    obj=st.fixed_dictionaries(
        {},
        optional={
            "format_version": json_values,
            "depends_on": json_values,
            "rules": st.lists(json_values, max_size=3),
        },
    )
)
def test_rules_parser_random_fields(obj: Any) -> None:
    _user_error_or_valid(rules_from_mapping, obj, "r.yaml")


def _mutations(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a leaf or container of a JSON object (to mutate one at a time)."""
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _mutations(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            out += _mutations(v, (*path, i))
    return out


@FAST
@given(data=st.data())
def test_style_model_loader_mutations(model_json: dict[str, Any], data: st.DataObject) -> None:
    paths = [p for p in _mutations(model_json) if p]
    path = data.draw(st.sampled_from(paths))
    new = data.draw(json_values)
    obj = json.loads(json.dumps(model_json))
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    m = _user_error_or_valid(StyleModel.from_json, obj, "m.json")
    if m is not None:  # a valid result: it answers queries
        assert 0.0 < sum(m.network_.probability(m.most_probable(1).iloc[:, :-1].pipe(m.encode_frame))) <= 1.0


@FAST
@given(cut=st.integers(min_value=0, max_value=10**6), junk=st.binary(max_size=8))
def test_style_model_loader_truncations(
    model_json: dict[str, Any], tmp_path: Path, cut: int, junk: bytes
) -> None:
    raw = json.dumps(model_json).encode()
    p = tmp_path / "m.json"
    p.write_bytes(raw[: cut % (len(raw) + 1)] + junk)
    _user_error_or_valid(StyleModel.load, p)


def test_rules_yaml_nested_deeply_is_one_line(tmp_path: Path) -> None:
    from avatargen.styles.rules import load_rules

    p = tmp_path / "deep.yaml"
    p.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UserError, match=r"deep\.yaml: YAML nested too deeply"):
        load_rules(p)


def test_cli_file_output_onto_a_folder_is_refused_before_fitting(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from avatargen.cli import app

    (tmp_path / "out").mkdir()
    res = CliRunner().invoke(
        app, ["styles", "fit", str(EXAMPLE_STYLES), "-o", str(tmp_path / "out"), "--force"]
    )
    assert isinstance(res.exception, UserError) and "is a folder; name a file to write" in str(res.exception)
