"""The tables of a fitted tree: joint counts with the parent, and smoothed conditional tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import as_style_data
from avatargen.styles.rules import as_rules
from avatargen.styles.tables import fitted_tables
from sharedcore.errors import UserError

ROWS = pd.DataFrame({"hair": ["bob", "bob", "bun", "none"], "colour": ["red", "red", "black", "none"]})


def test_counts_and_smoothed_tables_of_a_two_attribute_tree() -> None:
    d = as_style_data(ROWS)
    parents = np.array([-1, 0])  # hair -> colour
    cards = [len(d.values[a]) for a in d.attributes]
    tables, cpts = fitted_tables(d, as_rules(None), parents, {}, cards, alpha=1.0)
    assert tables[0].shape == (1, cards[0]) and tables[0].sum() == 4
    assert tables[1].shape == (cards[0], cards[1]) and tables[1].sum() == 4
    hair, colour = d.values["hair"], d.values["colour"]
    assert tables[1][hair.index("bob"), colour.index("red")] == 2
    # (count + alpha) / (row total + K alpha): bob's row is (2 + 1) / (2 + 3) for red
    assert cpts[1][hair.index("bob"), colour.index("red")] == pytest.approx(3 / 5)
    assert np.allclose(cpts[0].sum(axis=1), 1) and np.allclose(cpts[1].sum(axis=1), 1)


def test_an_alpha_that_overflows_is_refused() -> None:
    d = as_style_data(ROWS)
    with pytest.raises(UserError, match=r"--alpha: 1e\+308 is too large to compute the probabilities"):
        fitted_tables(d, as_rules(None), np.array([-1, 0]), {}, [3, 3], alpha=1e308)
