"""StyleModel: interface, rules, unique sampling, counts-only data, save/load, example table."""

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


def test_sample_interface(example: StyleModel) -> None:
    df = example.sample(50, np.random.default_rng(0))
    assert list(df.columns) == [*example.attributes_, "probability"]
    assert len(df) == 50
    style = df.iloc[0].drop("probability").to_dict()
    assert df["probability"].iloc[0] == pytest.approx(example.probability(style))
    assert example.breakdown(style)["probability"].prod() == pytest.approx(example.probability(style))


def test_hard_rule_holds_in_model_and_samples(example: StyleModel) -> None:
    df = example.sample(20_000, np.random.default_rng(1))
    assert ((df["hairstyle"] == "none") == (df["hair_color"] == "none")).all()
    style = df.iloc[0].drop("probability").to_dict()
    style.update(hairstyle="none", hair_color="black")
    assert example.probability(style) == 0.0
    assert example.posterior("hairstyle", {"hair_color": "none"})["none"] == pytest.approx(1.0)


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


def test_example_table_tree_has_the_generating_dependencies(example: StyleModel) -> None:
    learned = StyleModel(alpha=1.0).fit(load_styles(EXAMPLE_STYLES))
    edges = {frozenset((c, p)) for c, p in learned.parents_.items() if p}
    for pair in [("hairstyle", "hair_color"), ("clothes", "clothes_color"), ("eyes", "mouth")]:
        assert frozenset(pair) in edges


def test_alpha_zero_is_mle_and_alpha_gives_zero_counts_mass() -> None:
    counts = {"attributes": {"hair": {"none": 7, "bun": 0, "long": 43}}}
    mle = StyleModel(alpha=0.0).fit(counts)
    assert mle.marginals()["hair"] == pytest.approx({"none": 0.14, "bun": 0.0, "long": 0.86})
    smooth = StyleModel(alpha=1.0).fit(counts)
    assert smooth.marginals()["hair"]["bun"] == pytest.approx(1 / 53)


def test_independent_structure_is_product_of_marginals(example: StyleModel) -> None:
    ind = StyleModel(alpha=0.0, structure="independent").fit(load_styles(EXAMPLE_STYLES))
    edges = {c: p for c, p in ind.parents_.items() if p}
    assert edges == {}
    style = example.sample(1, np.random.default_rng(0)).iloc[0].drop("probability").to_dict()
    expect = np.prod([ind.marginals()[a][v] for a, v in style.items()])
    assert ind.probability(style) == pytest.approx(expect)


def test_rows_breaking_a_rule_are_named(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("hairstyle,hair_color\nbob,black\nnone,black\n", encoding="utf-8")
    rules = {"rules": [{"if": {"hairstyle": "none"}, "then": {"hair_color": "none"}}]}
    with pytest.raises(UserError, match="does not occur"):
        StyleModel(rules=rules).fit(load_styles(p))
    p.write_text("hairstyle,hair_color\nbob,black\nnone,none\nnone,black\n", encoding="utf-8")
    with pytest.raises(
        UserError, match=r"bad.csv: row 3 \(line 4\), column 'hair_color': value 'black' breaks rule 1"
    ):
        StyleModel(rules=rules).fit(load_styles(p))


def test_declared_two_parents_or_cycle_is_user_error() -> None:
    df = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "c": ["p", "q"]})
    with pytest.raises(UserError, match="cycle"):
        StyleModel(rules={"depends_on": {"a": "b", "b": "c", "c": "a"}}).fit(df)
    with pytest.raises(UserError, match="one other"):
        StyleModel(rules={"depends_on": {"a": ["b", "c"]}}).fit(df)
    with pytest.raises(UserError, match="two parents"):
        StyleModel(rules={"depends_on": {"a": "b", "c": "b", "b": "c"}}).fit(df)
