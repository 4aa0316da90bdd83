"""Structure learning: the Chow-Liu tree finds the example table's dependencies; independent is a product."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, frame_to_data, load_styles
from avatargen.styles.model import StyleModel
from avatargen.styles.structure import PAIRS_MAX
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_example_table_tree_has_the_generating_dependencies(example: StyleModel) -> None:
    learned = StyleModel(alpha=1.0).fit(load_styles(EXAMPLE_STYLES))
    edges = {frozenset((c, p)) for c, p in learned.parents_.items() if p}
    for pair in [("hairstyle", "hair_color"), ("clothes", "clothes_color"), ("eyes", "mouth")]:
        assert frozenset(pair) in edges


def test_independent_structure_is_product_of_marginals(example: StyleModel) -> None:
    ind = StyleModel(alpha=0.0, structure="independent").fit(load_styles(EXAMPLE_STYLES))
    edges = {c: p for c, p in ind.parents_.items() if p}
    assert edges == {}
    style = example.sample(1, np.random.default_rng(0)).iloc[0].drop("probability").to_dict()
    expect = np.prod([ind.marginals()[a][v] for a, v in style.items()])
    assert ind.probability(style) == pytest.approx(expect)


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


def test_too_many_columns_for_chow_liu_is_refused_before_listing_pairs() -> None:
    # 10,000 columns made 50 million pairs (MemoryError); 2,000 ran for minutes
    k = 2000
    df = pd.DataFrame([["x"] * k, ["y"] * k], columns=[f"c{i}" for i in range(k)])
    d = frame_to_data(df, "wide.csv")
    with pytest.raises(
        UserError, match=rf"wide\.csv: 2000 columns make 1,999,000 column pairs .* {PAIRS_MAX:,}"
    ):
        StyleModel().fit(d)
    m = StyleModel(structure="independent").fit(d)  # no pair tables, no MI report: fits at once
    assert m.mutual_information_ is None and m.n_styles() == 2**k
