"""The learned state declared once in StyleModelState is what fit sets and what a model file keeps."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import numpy as np

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel
from avatargen.styles.state import StyleModelState


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_fit_sets_every_declared_field_and_a_saved_model_gives_it_back(tmp_path: Path) -> None:
    learned = [n for n in get_type_hints(StyleModelState) if n.endswith("_")]
    assert len(learned) == 13  # attributes_ ... training_keys_
    m = StyleModel(alpha=0.5, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))
    back = StyleModel.load(m.save(tmp_path / "m.json"))
    for name in learned:
        if name == "network_":
            assert _same(back.network_.cpts, m.network_.cpts) and _same(
                back.network_.parents, m.network_.parents
            )
        elif name == "rules_":
            assert [str(r) for r in back.rules_.rules] == [str(r) for r in m.rules_.rules]
        else:
            assert _same(getattr(back, name), getattr(m, name)), name
    assert (back.alpha, back.structure, back.edge_pvalue) == (0.5, m.structure, None)
