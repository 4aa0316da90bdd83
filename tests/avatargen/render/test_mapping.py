"""Mapping files: validation errors name file/attribute/value; every built-in value draws its own part."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from avatargen.render.draw import COLLECTION_VALUES, style_svg, svg_to_png
from avatargen.render.mapping import BUILTIN_NAMES, detect_mapping, load_mapping, normalise
from sharedcore.errors import UserError

EXAMPLE_COLUMNS = [
    "hairstyle",
    "hair_color",
    "accessory",
    "clothes",
    "clothes_color",
    "facial_hair",
    "eyes",
    "mouth",
    "skin",
]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """
format_version: 1
name: tiny
defaults: {mouth: serious}
attributes:
  Hair:
    part: top
    values: {short: short_flat, none: none, hijab: hijab}
  colour:
    part: hair_color
    values: {black: black, custom: '#123456', none: null}
  look:
    part: accessory
    values: {pirate: {accessory: eyepatch, facial_hair: beard_light}}
"""


def test_parts_follow_mapping_and_defaults(tmp_path: Path) -> None:
    import python_avatars as pa

    m = load_mapping(_write(tmp_path, GOOD))
    parts = m.parts_for({"hair": "Short", "colour": "black", "look": "pirate", "probability": 0.5})
    assert parts["top"] is pa.HairType.SHORT_FLAT
    assert parts["hair_color"] is pa.HairColor.BLACK
    assert parts["accessory"] is pa.AccessoryType.EYEPATCH
    assert parts["facial_hair"] is pa.FacialHairType.BEARD_LIGHT
    assert parts["facial_hair_color"] is pa.HairColor.BLACK  # follows the hair colour
    assert parts["mouth"] is pa.MouthType.SERIOUS  # file default
    assert parts["eyes"] is pa.EyeType.DEFAULT  # built-in default
    assert m.parts_for({"colour": "custom"})["hair_color"] == "#123456"
    assert m.parts_for({"colour": "none"})["hair_color"] is pa.HairColor.BROWN
    assert m.parts_for({"Hair": "hijab"})["top"] is pa.HatType.HIJAB
    unset = m.unset_parts()
    assert unset["mouth"] == "serious" and "top" not in unset and "facial_hair" not in unset


def test_unmapped_value_names_attribute_value_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    m = load_mapping(path)
    with pytest.raises(UserError) as e:
        m.parts_for({"Hair": "mohawk-ish"})
    msg = str(e.value)
    assert str(path) in msg and "'Hair'" in msg and "'mohawk-ish'" in msg
    with pytest.raises(UserError, match=r"attribute 'shoes' is not in this mapping"):
        m.parts_for({"shoes": "boots"})
    with pytest.raises(UserError, match=r"value 'blond' is not mapped"):
        m.check({"colour": ["black", "blond"]})
    assert m.missing({"colour": ["black", "blond"], "shoes": ["x"]}) == ["colour=blond", "shoes"]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "format_version: 2\nattributes: {a: {part: top, values: {x: bun}}}",
            r"format_version is 2, expected 1",
        ),
        ("format_version: 1\n", r"'attributes' is missing or empty"),
        ("- just\n- a list\n", r"not a mapping file"),
        (
            "format_version: 1\nattributes: {a: {part: hat_size, values: {x: bun}}}",
            r"unknown part 'hat_size'",
        ),
        (
            "format_version: 1\nattributes: {a: {part: top, values: {x: bunn}}}",
            r"a -> values -> x: 'bunn' is not a python_avatars top",
        ),
        ("format_version: 1\nattributes: {a: {part: hair_color, values: {x: '#12345'}}}", r"#RRGGBB"),
        ("format_version: 1\nattributes: {a: {part: top}}", r"needs 'part: <part>' and a 'values:'"),
        (
            "format_version: 1\ndefaults: {eyes: googly}\nattributes: {a: {part: top, values: {x: bun}}}",
            r"defaults -> eyes",
        ),
        ("format_version: 1\nattributes: {a: {part: top, values: {X: bun, x: bob}}}", r"value listed twice"),
        (
            "format_version: 1\nattributes: {a: {part: shirt_graphic, values: {x: custom_text}}}",
            r"not a python_avatars shirt_graphic",
        ),
        ("format_version: 1\nattributes: [a: {part: top\n", r"line \d+"),
    ],
)
def test_invalid_mapping_files(tmp_path: Path, text: str, pattern: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UserError, match=pattern) as e:
        load_mapping(path)
    assert str(path) in str(e.value)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such mapping file"):
        load_mapping(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("attributes: {причёска: x}".encode("cp1251"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_mapping(bad)


def test_names_are_normalised() -> None:
    assert normalise("  Короткая   прямые ") == normalise("короткая прямые")
    m = load_mapping("course_ru")
    assert m.parts_for({"Прическа": "ДЛИННЫЕ  прямые"}) == m.parts_for({"прическа": "длинные прямые"})


def test_english_mapping_covers_example_columns_and_collection() -> None:
    m = load_mapping("english")
    assert [a.name for a in m.attributes.values()] == EXAMPLE_COLUMNS
    m.check(COLLECTION_VALUES)
    assert m.parts_for({"hairstyle": "short_flat"})["top"].name == "SHORT_FLAT"


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_builtin_value_renders_its_own_part(name: str) -> None:
    """Each value gives a valid PNG, and values with different parts give different images (no fallback)."""
    m = load_mapping(name)
    for am in m.attributes.values():
        pngs: set[bytes] = set()
        parts: set[str] = set()
        for label in am.labels.values():
            style = {am.name: label}
            png = svg_to_png(style_svg(style, m), (132, 140))
            assert png.startswith(b"\x89PNG")
            pngs.add(png)
            parts.add(repr(sorted((k, str(v)) for k, v in m.parts_for(style).items())))
        assert len(pngs) == len(parts), am.name


def test_detect_mapping() -> None:
    assert detect_mapping({"hairstyle": ["bun"], "skin": ["pale"]}).name == "english"
    assert detect_mapping({"прическа": ["нет волос"], "цвет одежды": ["белый"]}).name == "course_ru"
    with pytest.raises(
        UserError, match=r"closest, .*course_ru.yaml, lacks 'цвет одежды=фиолетовый'.*--mapping"
    ):
        detect_mapping({"прическа": ["нет волос"], "цвет одежды": ["фиолетовый"]})


@pytest.mark.realdata
def test_course_mapping_covers_course_data(shared_dir: Path) -> None:
    counts = json.loads((shared_dir / "data/styles/course_counts.json").read_text(encoding="utf-8"))
    values = {a: list(v) for a, v in counts["attributes"].items()}
    m = detect_mapping(values)
    assert m.name == "course_ru"
    m.check(values)
    # every value of the data, plus "нет" (no hair colour), which the course rules file adds
    assert sum(len(v) for v in values.values()) + 1 == sum(len(am.values) for am in m.attributes.values())


def test_english_mapping_covers_the_builtin_example_table() -> None:
    import pandas as pd

    csv = Path(str(resources.files("avatargen") / "data" / "example_styles.csv"))
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    values = {c: sorted(set(table[c])) for c in table.columns}
    assert detect_mapping(values).name == "english"
    load_mapping("english").check(values)


@pytest.mark.realdata
def test_course_model_with_rules_is_fully_mapped(shared_dir: Path) -> None:
    from avatargen.styles.model import StyleModel

    rules = Path(str(resources.files("avatargen") / "data" / "course_rules.yaml"))
    model = StyleModel(alpha=0.0, rules=str(rules)).fit(shared_dir / "data/styles/course_counts.json")
    m = detect_mapping(model.values_)
    assert m.name == "course_ru"
    m.check(model.values_)
    assert "нет" in model.values_["цвет волос"]  # the value the rules add, drawn with the default colour
