"""Structure learning: the Chow-Liu tree finds the example table's dependencies; independent is a product."""

from __future__ import annotations

import numpy as np
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel


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
