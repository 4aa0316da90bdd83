"""Styles data: loading and validating per-row tables (CSV/Parquet) and per-attribute counts (JSON)
(rules files are read by ``avatargen.styles.rules``). Every user mistake becomes one UserError line naming the file,
row/column and value, and the fix."""

from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sharedcore.errors import UserError
from sharedcore.structured import read_json
from sharedcore.validate import check_counts

COUNTS_SUFFIXES = (".json",)
#: Top-level keys of a counts file ``{"attributes": {...}, "description": "..."}``; others are refused.
COUNTS_KEYS = frozenset({"attributes", "description", "format_version"})
#: The only ``format_version`` a counts file may state (it is optional).
COUNTS_FORMAT_VERSION = 1


@dataclass
class StyleData:
    """A validated styles data set.

    ``codes`` is an (n_rows, n_attributes) int array of value indices into ``values[attribute]``
    (None for counts-only data); ``counts[attribute]`` holds the per-value counts (int64).
    """

    source: str
    attributes: list[str]
    values: dict[str, list[str]]
    counts: dict[str, np.ndarray]
    codes: np.ndarray | None = None
    kind: Literal["rows", "counts"] = "rows"
    description: str = ""

    @property
    def n_rows(self) -> int:
        """Number of people: rows of the table, or the largest per-attribute total for counts."""
        if self.codes is not None:
            return int(self.codes.shape[0])
        return int(max((int(c.sum()) for c in self.counts.values()), default=0))


# ----------------------------------------------------------------------------------------- loading


def load_styles(path: str | os.PathLike[str]) -> StyleData:
    """Load a styles data file: counts JSON, or a per-row CSV/TSV/Parquet table."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file; check the path")
    if p.stat().st_size == 0:
        raise UserError(f"{p}: file is empty (0 bytes); give a counts JSON or a CSV/Parquet table")
    suffix = p.suffix.lower()
    if suffix in COUNTS_SUFFIXES:
        return _load_counts_json(p)
    if suffix in (".csv", ".tsv"):
        return _load_csv(p, sep="\t" if suffix == ".tsv" else ",")
    if suffix in (".parquet", ".pq"):
        return _load_parquet(p)
    raise UserError(
        f"{p}: unknown data file type '{p.suffix}'; use .json (counts), .csv/.tsv or .parquet (one row per person)"
    )


def _clean_name(name: object, where: str, what: str) -> str:
    if name is None or isinstance(name, bool) or (isinstance(name, float) and math.isnan(name)):
        raise UserError(f"{where}: {what} {name!r} is not a name; write it as text")
    text = str(name).strip()
    if not text:
        raise UserError(f"{where}: {what} is empty; give it a name")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON escape such as "\ud800"
        raise UserError(
            f"{where}: {what} {text!r} holds U+{ord(text[exc.start]):04X}, which is not a character; "
            "write the name as plain text"
        ) from None
    return text


def counts_from_mapping(obj: Any, source: str = "<counts>") -> StyleData:
    """Validate ``{"attributes": {attr: {value: count}}}`` (or the bare inner mapping) into StyleData."""
    desc = ""
    if isinstance(obj, dict) and "attributes" in obj:
        unknown = sorted(set(obj) - COUNTS_KEYS)
        if unknown:
            raise UserError(
                f"{source}: unknown key '{unknown[0]}'; allowed at the top level: {', '.join(sorted(COUNTS_KEYS))}"
            )
        version = obj.get("format_version", COUNTS_FORMAT_VERSION)
        if type(version) is not int or version != COUNTS_FORMAT_VERSION:
            raise UserError(
                f"{source}: format_version {version!r} found, {COUNTS_FORMAT_VERSION} expected; "
                f"write format_version: {COUNTS_FORMAT_VERSION} or leave it out"
            )
        desc = str(obj.get("description", ""))
        obj = obj["attributes"]
    if not isinstance(obj, dict) or not obj:
        raise UserError(
            f'{source}: expected {{"attributes": {{"<attribute>": {{"<value>": <count>, ...}}, ...}}}}; '
            "found no attributes"
        )
    attributes: list[str] = []
    values: dict[str, list[str]] = {}
    counts: dict[str, np.ndarray] = {}
    for raw_attr, table in obj.items():
        attr = _clean_name(raw_attr, source, "attribute name")
        if attr in values:
            raise UserError(f"{source}: attribute '{attr}' appears twice (after trimming spaces); keep one")
        if not isinstance(table, dict) or not table:
            raise UserError(
                f"{source}: attribute '{attr}' has no values; give it a mapping of value -> count"
            )
        names: list[str] = []
        seen: set[str] = set()  # membership in a set: a list made 50,000 values take minutes
        for raw_value in table:
            value = _clean_name(raw_value, f"{source}: attribute '{attr}'", "a value name")
            if value in seen:
                raise UserError(
                    f"{source}: attribute '{attr}', value '{raw_value}': value listed twice (after trimming "
                    "spaces); merge the counts"
                )
            names.append(value)
            seen.add(value)
        # whole, non-negative, and a total that stays exact (no OverflowError, no int64 wrap-around)
        cs = check_counts(table, f"{source}: attribute '{attr}'")
        if sum(cs) == 0:
            raise UserError(
                f"{source}: attribute '{attr}': all counts are 0 (empty attribute); add counts or drop it"
            )
        attributes.append(attr)
        values[attr] = names
        counts[attr] = np.asarray(cs, dtype=np.int64)
    return StyleData(source, attributes, values, counts, None, "counts", desc)


def _load_counts_json(path: Path) -> StyleData:
    return counts_from_mapping(read_json(path), str(path))


def _check_header(path: Path, columns: list[object]) -> list[str]:
    names: list[str] = []
    first: dict[str, int] = {}  # name -> its column number (a dict: linear in the number of columns)
    for i, c in enumerate(columns, start=1):
        name = _clean_name(c, f"{path}: header, column {i}", "column name")
        if name in first:
            raise UserError(
                f"{path}: header: column '{name}' appears twice (columns {first[name]} and {i}); rename or drop one"
            )
        first[name] = i
        names.append(name)
    if not names:
        raise UserError(f"{path}: no columns; the first line must name the attributes")
    return names


def _load_csv(path: Path, sep: str) -> StyleData:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter=sep), None)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not header:
        raise UserError(f"{path}: no header line; the first line must name the attributes")
    names = _check_header(path, list(header))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                skip_blank_lines=True,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        raise UserError(
            f"{path}: malformed table (a row has more cells than the {len(names)} header columns); fix that row"
        ) from None
    except pd.errors.ParserError as exc:
        raise UserError(
            f"{path}: malformed table ({' '.join(str(exc).split())}); every row needs {len(names)} cells"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: cannot read as a table ({exc}); save it as UTF-8 CSV") from None
    df.columns = pd.Index(names)
    return frame_to_data(df, str(path), line_offset=2)


def _load_parquet(path: Path) -> StyleData:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for bad files
        raise UserError(f"{path}: not a readable Parquet file ({type(exc).__name__}); re-export it") from None
    _check_header(path, list(df.columns))
    return frame_to_data(df, str(path), line_offset=None)


def frame_to_data(df: pd.DataFrame, source: str = "<table>", line_offset: int | None = None) -> StyleData:
    """Validate and encode a per-row table (one column per attribute) into StyleData.

    Values are text (numbers are turned into text), surrounding spaces are trimmed and each
    attribute's values are sorted. ``line_offset`` maps data row 1 to its file line for messages.
    """
    if df.shape[1] == 0:
        raise UserError(f"{source}: no columns; give one column per attribute")
    attributes = _check_header(Path(source), list(df.columns))
    if len(df) == 0:
        raise UserError(f"{source}: no data rows; give at least one row per person")
    n, k = df.shape
    codes = np.empty((n, k), dtype=np.int64, order="F")
    values: dict[str, list[str]] = {}
    counts: dict[str, np.ndarray] = {}

    def where(row_idx: int, attr: str) -> str:
        line = f" (line {row_idx + line_offset})" if line_offset is not None else ""
        return f"{source}: row {row_idx + 1}{line}, column '{attr}'"

    for j, attr in enumerate(attributes):
        col = df.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            c = col.cat.codes.to_numpy()
            uniques = [str(v) for v in col.cat.categories]
        else:
            try:
                c, uniq = pd.factorize(col, sort=False, use_na_sentinel=True)
            except TypeError:  # cells holding lists or mappings (Parquet nested types) are unhashable
                r = _first_unhashable(col)
                raise UserError(
                    f"{where(r, attr)}: cell holds a {type(col.iloc[r]).__name__}, not a single value; "
                    "give one value per cell (flatten nested columns before saving)"
                ) from None
            uniques = [v if isinstance(v, str) else _cell_text(v) for v in uniq]
        if len(c) and c.min() < 0:
            missing = np.flatnonzero(c < 0)
            raise UserError(f"{where(int(missing[0]), attr)}: missing cell; fill in a value (e.g. 'none')")
        if len(uniques) > np.iinfo(np.int16).max:
            raise UserError(
                f"{source}: column '{attr}' has {len(uniques)} distinct values; this is not a styles table"
            )
        stripped = [u.strip() for u in uniques]
        for u_idx, s in enumerate(stripped):
            if not s:
                r = int(np.flatnonzero(c == u_idx)[0]) if (c == u_idx).any() else 0
                raise UserError(f"{where(r, attr)}: empty cell; fill in a value (e.g. 'none')")
        # merge values that differ only by surrounding spaces, then sort value names
        order = sorted(set(stripped))
        index = {s: i for i, s in enumerate(order)}
        remap = np.asarray([index[s] for s in stripped], dtype=np.int64)
        coded = c if np.array_equal(remap, np.arange(len(remap))) else remap[c]
        codes[:, j] = coded
        values[attr] = order
        counts[attr] = np.bincount(codes[:, j], minlength=len(order)).astype(np.int64)
    return StyleData(source, attributes, values, counts, codes, "rows")


def _first_unhashable(col: pd.Series) -> int:
    """Row index of the first cell that cannot be hashed (only called once factorize has failed)."""
    for r, v in enumerate(col):
        try:
            hash(v)
        except TypeError:
            return r
    return 0


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def as_style_data(data: Any, source: str = "<data>") -> StyleData:
    """Accept StyleData, a DataFrame, a counts mapping, or a path to a data file."""
    if isinstance(data, StyleData):
        return data
    if isinstance(data, pd.DataFrame):
        return frame_to_data(data, source)
    if isinstance(data, dict):
        return counts_from_mapping(data, source)
    if isinstance(data, str | os.PathLike):
        return load_styles(data)
    raise TypeError(f"cannot fit a StyleModel on {type(data).__name__}")


def builtin_path(name: str) -> Path:
    """Path of a file shipped in ``avatargen/data`` (e.g. 'example_styles.csv')."""
    return Path(__file__).resolve().parents[1] / "data" / name


EXAMPLE_STYLES = builtin_path("example_styles.csv")
EXAMPLE_RULES = builtin_path("example_rules.yaml")
COURSE_RULES = builtin_path("course_rules.yaml")
