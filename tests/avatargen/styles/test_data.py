"""Loading and validation: every bad input is one UserError line naming file, row/column and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from avatargen.styles.data import counts_from_mapping, frame_to_data, load_styles
from sharedcore.errors import UserError


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_counts_json_with_cyrillic_spaces_hyphens(tmp_path: Path) -> None:
    p = write(tmp_path, "c.json", '{"attributes": {"одежда": {"футболка с V-вырезом": 6, "худи": 0}}}')
    d = load_styles(p)
    assert d.kind == "counts" and d.values["одежда"] == ["футболка с V-вырезом", "худи"]
    assert d.counts["одежда"].tolist() == [6, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"attributes": {"hair": {"bob": -3}}}',
            r"c.json: attribute 'hair', value 'bob': -3 is out of range; use an integer from 0",
        ),
        ('{"attributes": {"hair": {"bob": 2.5}}}', r"value 'bob': 2.5 is not a whole number"),
        ('{"attributes": {"hair": {"bob": "x"}}}', r"'x' is not an integer"),
        ('{"attributes": {"hair": {}}}', r"attribute 'hair' has no values"),
        ('{"attributes": {"hair": {"bob": 0}}}', r"attribute 'hair': all counts are 0"),
        ('{"attributes": {"hair": {"bob": 1, "bob": 2}}}', r"key 'bob' appears twice"),
        ('{"attributes": {"hair": {"bob": 1, " bob": 2}}}', r"value listed twice"),
        ('{"attributes": {"hair": {"bob": 1,}}}', r"c.json: line 1, column \d+: malformed JSON"),
        ('{"attributes": {}}', r"found no attributes"),
    ],
)
def test_bad_counts(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_styles(write(tmp_path, "c.json", text))


def test_csv_table(tmp_path: Path) -> None:
    d = load_styles(write(tmp_path, "t.csv", "hair,color\nbob ,black\nbob,None\nnone,NA\n"))
    assert d.values == {"hair": ["bob", "none"], "color": ["NA", "None", "black"]}
    assert d.codes is not None and d.codes.tolist() == [[0, 2], [0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hair,color\nbob,black\nbob,\n", r"t.csv: row 2 \(line 3\), column 'color': empty cell"),
        ("hair,hair\nbob,black\n", r"t.csv: header: column 'hair' appears twice"),
        ("hair,\nbob,black\n", r"t.csv: header, column 2: column name is empty"),
        ("hair,color\nbob,black,extra\n", r"t.csv: malformed table"),
        ("hair,color\n", r"no data rows"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_styles(write(tmp_path, "t.csv", text))


def test_csv_short_row_is_missing_cell(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"row 2 \(line 3\), column 'color'"):
        load_styles(write(tmp_path, "t.csv", "hair,color\nbob,black\nbob\n"))


def test_parquet_table_and_missing_cell(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pd.DataFrame({"hair": ["bob", "bun"], "size": [1, 2]}).to_parquet(p)
    d = load_styles(p)
    assert d.values == {"hair": ["bob", "bun"], "size": ["1", "2"]}
    pd.DataFrame({"hair": ["bob", None]}).to_parquet(p)
    with pytest.raises(UserError, match=r"t.parquet: row 2, column 'hair': missing cell"):
        load_styles(p)


def test_other_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_styles(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="file is empty"):
        load_styles(write(tmp_path, "e.csv", ""))
    with pytest.raises(UserError, match="unknown data file type"):
        load_styles(write(tmp_path, "x.txt", "a"))
    with pytest.raises(UserError, match="not a readable Parquet"):
        load_styles(write(tmp_path, "x.parquet", "not parquet"))
    bad = tmp_path / "latin.csv"
    bad.write_bytes("hair\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_styles(bad)


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    p = tmp_path / "bom.csv"
    p.write_bytes("hair,color\nbob,black\n".encode("utf-8-sig"))
    assert load_styles(p).attributes == ["hair", "color"]


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


def test_counts_file_of_another_format_version_is_refused() -> None:
    with pytest.raises(UserError, match=r"c\.json: format_version 99 found, 1 expected"):
        counts_from_mapping({"format_version": 99, "attributes": {"a": {"x": 1}}}, "c.json")
    assert counts_from_mapping({"format_version": 1, "attributes": {"a": {"x": 1}}}, "c.json").attributes == [
        "a"
    ]


def test_a_lone_surrogate_name_is_refused_before_a_model_is_written(tmp_path: Path) -> None:
    # "\ud800" in JSON is legal syntax but no character: saving the model used to crash (UnicodeEncodeError)
    p = tmp_path / "c.json"
    p.write_text('{"attributes": {"a": {"\\ud800": 1, "y": 2}}}', encoding="utf-8")
    with pytest.raises(UserError, match=r"c\.json: attribute 'a': a value name '\\ud800' holds U\+D800"):
        load_styles(p)


@pytest.mark.parametrize(
    ("cells", "kind"), [([[1, 2], [3]], "ndarray"), ([{"k": 1}, {"k": 2}], "dict")], ids=["list", "dict"]
)
def test_parquet_nested_cells_name_the_row(tmp_path: Path, cells: list[Any], kind: str) -> None:
    p = tmp_path / "t.parquet"
    pd.DataFrame({"a": ["x", "y"], "b": cells}).to_parquet(p)
    with pytest.raises(
        UserError, match=rf"t\.parquet: row 1, column 'b': cell holds a {kind}, not a single value"
    ):
        load_styles(p)


def test_an_attribute_with_100000_values_loads_linearly() -> None:
    # the hunt: duplicate-value checks against a list made 50,000 values take minutes (quadratic);
    # 100,000 would take tens of minutes that way, well under a second now
    table = {f"v{i}": 1 + i % 3 for i in range(100_000)}
    d = counts_from_mapping({"attributes": {"a": table, "b": {"x": 1}}}, "c.json")
    assert len(d.values["a"]) == 100_000 and int(d.counts["a"].sum()) == sum(table.values())
    with pytest.raises(UserError, match=r"value 'v7 ': value listed twice"):
        counts_from_mapping({"attributes": {"a": {**table, "v7 ": 1}}}, "c.json")
    header = [f"c{i}" for i in range(50_000)]
    with pytest.raises(UserError, match=r"column 'c3' appears twice \(columns 4 and 50001\)"):
        frame_to_data(pd.DataFrame([["x"] * 50_001], columns=[*header, "c3"]), "w.csv")
