"""The model file: save/load round trip, other format versions, damaged files as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import FORMAT_VERSION, StyleModel
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_save_load_round_trip(example: StyleModel, tmp_path: Path) -> None:
    path = example.save(tmp_path / "m.json")
    back = StyleModel.load(path)
    a = example.sample(100, np.random.default_rng(4))
    b = back.sample(100, np.random.default_rng(4))
    pd.testing.assert_frame_equal(a, b)
    assert back.entropy() == pytest.approx(example.entropy())
    assert np.array_equal(back.training_codes_, example.training_codes_)
    with pytest.raises(UserError, match="already exists"):
        example.save(path)


def test_load_other_version_names_file_and_versions(example: StyleModel, tmp_path: Path) -> None:
    obj = example.to_json()
    obj["format_version"] = FORMAT_VERSION + 1
    p = tmp_path / "old.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(
        UserError,
        match=rf"old.json: model format_version {FORMAT_VERSION + 1} found, {FORMAT_VERSION} expected",
    ):
        StyleModel.load(p)


def test_damaged_model_files_are_user_errors(example: StyleModel, tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match="not a style model file"):
        StyleModel.load(p)
    obj = example.to_json()
    obj["cpts"][0] = [[0.5, 0.1]]
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(UserError, match=r"damaged model file: .*m\.json: the table of"):
        StyleModel.load(p)
    p.write_text('{"kind": ', encoding="utf-8")
    with pytest.raises(UserError, match="malformed JSON"):
        StyleModel.load(p)
