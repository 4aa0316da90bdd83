"""Names <-> codes of a fitted model: encode a style, encode a table, decode codes back to names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_encode_names_to_indices_and_refuse_unknown_ones(example: StyleModel) -> None:
    a0, a1 = example.attributes_[:2]
    v0, v1 = example.values_[a0][2], example.values_[a1][-1]
    assert example.encode({a1: v1, a0: v0}) == {0: 2, 1: len(example.values_[a1]) - 1}
    with pytest.raises(UserError, match=r"^pins: unknown attribute 'hat'; the model has: "):
        example.encode({"hat": "x"}, where="pins")
    with pytest.raises(UserError, match=rf"attribute '{a0}' has no value 'zzz'; known values: "):
        example.encode({a0: "zzz"})


def test_a_table_round_trips_through_codes(example: StyleModel) -> None:
    table = example.sample(40, np.random.default_rng(5)).drop(columns="probability")
    codes = example.encode_frame(table.astype(str))  # plain strings, as a CSV gives them
    assert codes.shape == (40, len(example.attributes_)) and codes.min() >= 0
    back = example.decode(codes, probability=np.full(40, 0.5))
    assert back.drop(columns="probability").astype(str).equals(table.astype(str))
    assert (back["probability"] == 0.5).all()
    odd = table.astype(str).copy()
    odd.iloc[3, 0] = "no such value"
    assert (example.encode_frame(odd)[3, 0], example.encode_frame(odd)[4, 0]) == (-1, codes[4, 0])
    with pytest.raises(UserError, match=f"column '{example.attributes_[0]}' is missing"):
        example.encode_frame(pd.DataFrame({"x": ["a"]}))
