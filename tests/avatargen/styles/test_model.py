"""StyleModel: interface, queries, unique sampling, unknown names, wide tables, score/score_samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_sample_interface(example: StyleModel) -> None:
    df = example.sample(50, np.random.default_rng(0))
    assert list(df.columns) == [*example.attributes_, "probability"]
    assert len(df) == 50
    style = df.iloc[0].drop("probability").to_dict()
    assert df["probability"].iloc[0] == pytest.approx(example.probability(style))
    assert example.breakdown(style)["probability"].prod() == pytest.approx(example.probability(style))


def test_partial_style_is_marginal(example: StyleModel) -> None:
    m = example.marginals()["hair_color"]["blonde"]
    assert example.probability({"hair_color": "blonde"}) == pytest.approx(m)
    assert sum(example.marginals()["hairstyle"].values()) == pytest.approx(1.0)


def test_bayes_inverse_query(example: StyleModel) -> None:
    post = example.posterior("hairstyle", {"hair_color": "blonde"})
    prior = example.marginals()["hairstyle"]
    joint = {h: example.probability({"hairstyle": h, "hair_color": "blonde"}) for h in prior}
    z = sum(joint.values())
    for h, p in post.items():
        assert p == pytest.approx(joint[h] / z)


def test_conditioned_sample_respects_evidence(example: StyleModel) -> None:
    df = example.sample(500, np.random.default_rng(2), given={"mouth": "smile", "clothes": "hoodie"})
    assert (df["mouth"] == "smile").all() and (df["clothes"] == "hoodie").all()


def test_unique_sample_has_no_repeats_and_no_training_rows(example: StyleModel) -> None:
    df = example.sample(300, np.random.default_rng(3), unique=True)
    styles = df.drop(columns="probability").astype(str)
    assert not styles.duplicated().any()
    train = pd.read_csv(EXAMPLE_STYLES, dtype=str)[example.attributes_]
    merged = styles.merge(train.drop_duplicates(), how="inner")
    assert len(merged) == 0


def test_unique_with_small_support_is_exact() -> None:
    df = pd.DataFrame({"x": ["a", "a", "b", "c"], "y": ["u", "v", "u", "v"]})
    m = StyleModel(alpha=0.0, structure="independent").fit(df)
    # support: 3 x 2 = 6 styles, 4 in training -> 2 new ones
    got = m.sample(2, np.random.default_rng(0), unique=True)
    assert sorted(map(tuple, got[["x", "y"]].astype(str).values.tolist())) == [("b", "v"), ("c", "u")]
    with pytest.raises(UserError, match="only 2 distinct new"):
        m.sample(3, np.random.default_rng(0), unique=True)
    assert m.n_styles() == 6
    assert m.most_probable(1)[["x", "y"]].astype(str).values.tolist() == [["a", "u"]]


def test_unknown_names_are_user_errors(example: StyleModel) -> None:
    with pytest.raises(UserError, match="unknown attribute 'hat'"):
        example.sample(1, np.random.default_rng(0), given={"hat": "x"})
    with pytest.raises(UserError, match="no value 'blnde'"):
        example.probability({"hair_color": "blnde"})
    with pytest.raises(UserError, match="probability 0"):
        example.sample(1, np.random.default_rng(0), given={"hairstyle": "none", "hair_color": "black"})


def test_many_attributes_use_byte_keys(tmp_path: Path) -> None:
    # 20 attributes x 10 values: 1e20 combinations do not fit an int64 key
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"a{i}": [f"v{x}" for x in rng.integers(0, 10, 300)] for i in range(20)})
    m = StyleModel(alpha=0.5).fit(df)
    assert m.training_keys_.dtype != np.int64 and len(m.training_keys_) == 300
    assert np.array_equal(np.sort(m.encode_frame(df), axis=0), np.sort(m.training_codes_, axis=0))
    for exclude in (True, False):
        got = m.sample(50, np.random.default_rng(1), unique=True, exclude_training=exclude)
        assert not got.drop(columns="probability").astype(str).duplicated().any()
    back = StyleModel.load(m.save(tmp_path / "m.json"))
    assert np.array_equal(back.training_codes_, m.training_codes_)


def test_zero_styles_and_many_most_probable(example: StyleModel) -> None:
    assert len(example.sample(0, np.random.default_rng(0))) == 0
    top = example.most_probable(500, given={"hairstyle": "bob", "clothes": "hoodie", "eyes": "happy"})
    p = top["probability"].to_numpy()
    assert len(top) == 500 and (np.diff(p) <= 0).all()
    few = example.most_probable(20, given={"hairstyle": "bob", "clothes": "hoodie", "eyes": "happy"})
    assert np.allclose(few["probability"], p[:20])


def test_score_is_one_number_score_samples_one_per_row(example: StyleModel) -> None:
    d = load_styles(EXAMPLE_STYLES)
    per_row = example.score_samples(d)
    assert per_row.shape == (d.n_rows,)
    assert d.codes is not None
    first = {a: d.values[a][int(c)] for a, c in zip(d.attributes, d.codes[0], strict=True)}
    assert per_row[0] == pytest.approx(np.log2(example.probability(first)))
    assert isinstance(example.score(d), float) and example.score(d) == pytest.approx(per_row.mean())
    table = example.decode(d.codes)
    assert np.array_equal(example.score_samples(table), per_row)
    assert example.score(table) == example.score(d)
    bad = table.astype(str).assign(skin="green")
    assert np.isneginf(example.score_samples(bad)).all() and example.score(bad) == -np.inf
