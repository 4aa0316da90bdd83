"""The shared command-line values: attribute=value pairs and sizes, one syntax for both tools."""

from __future__ import annotations

import pytest

from sharedcore.cli_params import MAX_SIDE, parse_optional_size, parse_pairs, parse_size
from sharedcore.errors import UserError


def test_pairs_split_at_the_first_equals_and_trim() -> None:
    assert parse_pairs(["цвет волос=рыжий", "a = b=c", " hair_color =  silver gray "]) == {
        "цвет волос": "рыжий",
        "a": "b=c",
        "hair_color": "silver gray",
    }
    assert parse_pairs([]) == {}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["hair_color"], "--given: 'hair_color' is not attribute=value; write e.g. hairstyle=bob"),
        (["hair_color="], "--given: 'hair_color=' has an empty attribute or value"),
        (["=black"], "--given: '=black' has an empty attribute or value"),
        (
            ["hair_color=black", "skin=light", "hair_color = red"],
            "--given: attribute 'hair_color' is given twice ('hair_color=black' and 'hair_color=red'); give it once",
        ),
    ],
)
def test_pair_mistakes_are_one_line_errors(items: list[str], message: str) -> None:
    with pytest.raises(UserError) as err:
        parse_pairs(items)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_pairs_name_where_they_came_from() -> None:
    with pytest.raises(UserError, match=r"^style: attribute 'a' is given twice"):
        parse_pairs(["a=1", "a=1"], "style")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("528x560", (528, 560)),
        ("264X280", (264, 280)),
        ("264*280", (264, 280)),
        (" 4x4096 ", (4, 4096)),
        ("1x", (264, 280)),
        ("2x", (528, 560)),
        ("0.5x", (132, 140)),
        ("10x", (2640, 2800)),  # a scale: `pixels --size` rejected it before the two parsers became one
    ],
)
def test_size_syntax(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["big", "abc", "x2", "2x2", "0x0", "0x100", "3x5", "20x", "99999x5", "", "1x2x3"]
)
def test_size_mistakes(text: str) -> None:
    with pytest.raises(UserError, match=r"^--size '"):
        parse_size(text)


def test_size_range_names_the_limits() -> None:
    with pytest.raises(UserError, match=f"each side must be 4..{MAX_SIDE} pixels"):
        parse_size("5000x10")


def test_optional_size() -> None:
    assert parse_optional_size(None) is None and parse_optional_size(" ") is None
    assert parse_optional_size("264x280") == (264, 280)
