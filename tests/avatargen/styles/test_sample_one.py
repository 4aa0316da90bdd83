"""StyleModel.sample_one must draw exactly what StyleModel.sample(1, ...) draws: the served style of a
(seed, pins) is defined as that row, so the fast path may not change a single draw or float."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel
from sharedcore.errors import UserError

SEEDS = [*range(150), 2**31 - 1, 2**32 - 1, 123_456_789, 500_000, 987_654]
COURSE_RULES = Path(__file__).resolve().parents[3] / "src/avatargen/data/course_rules.yaml"


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def pin_sets(model: StyleModel, rng_seed: int = 3) -> list[dict[str, str]]:
    """No pins, every single pin of a drawn style, random subsets of drawn styles, and a full style."""
    rng = np.random.default_rng(rng_seed)
    df = model.sample(6, rng)
    styles = [{a: str(df[a].iloc[i]) for a in model.attributes_} for i in range(len(df))]
    out: list[dict[str, str]] = [{}, styles[0]]
    out += [{a: v} for a, v in styles[1].items()]
    for st in styles[2:]:
        keep = rng.random(len(st)) < 0.4
        out.append({a: v for (a, v), k in zip(st.items(), keep, strict=True) if k})
    return out


def assert_same_draws(model: StyleModel, given: dict[str, str], seeds: list[int]) -> None:
    for seed in seeds:
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        df = model.sample(1, r1, given=given or None)
        style, p = model.sample_one(r2, given=given or None)
        want = {a: str(df[a].array[0]) for a in model.attributes_}
        assert style == want, (seed, given)
        assert list(style) == model.attributes_
        got_p, want_p = p, float(df["probability"].to_numpy()[0])
        assert repr(got_p) == repr(want_p), (seed, given, got_p, want_p)
        assert all(style[a] == v for a, v in given.items())
        assert r1.random() == r2.random()  # both consumed the same uniforms


def test_sample_one_equals_sample_on_the_example_model(example: StyleModel) -> None:
    sets = [
        *pin_sets(example),
        {"hair_color": "blonde"},
        {"clothes": "hoodie", "skin": "pale"},
        {"hairstyle": "bob"},
        {"hairstyle": "none"},  # a hard rule pins hair_color too
    ]
    for i, given in enumerate(sets):
        assert_same_draws(example, given, SEEDS if i % 3 == 0 else SEEDS[:50] + SEEDS[-5:])
    # repeated calls reuse the cached sampler and still match
    assert_same_draws(example, {"hairstyle": "bob"}, SEEDS[:20])


def test_sample_one_on_other_structures_and_alpha_zero() -> None:
    data = load_styles(EXAMPLE_STYLES)
    for m in (
        StyleModel(alpha=0.0, rules=EXAMPLE_RULES).fit(data),
        StyleModel(structure="independent").fit(data),
        StyleModel(alpha=0.3, structure="declared", rules=EXAMPLE_RULES).fit(data),
    ):
        for given in pin_sets(m, rng_seed=11)[:6]:
            assert_same_draws(m, given, SEEDS[:60])


def test_sample_one_errors_match_sample(example: StyleModel) -> None:
    for given in ({"hairstyle": "none", "hair_color": "red"}, {"nope": "x"}, {"hairstyle": "nope"}):
        with pytest.raises(UserError) as a:
            example.sample(1, np.random.default_rng(0), given=given)
        with pytest.raises(UserError) as b:
            example.sample_one(np.random.default_rng(0), given=given)
        assert str(a.value) == str(b.value)


def test_sampler_cache_follows_refit_and_pickling(example: StyleModel) -> None:
    data = load_styles(EXAMPLE_STYLES)
    m = StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(data)
    before = m.sample_one(np.random.default_rng(5), {"hairstyle": "bob"})
    m.alpha = 50.0
    m.fit(data)  # new tables: the cached sampler must not be reused
    assert_same_draws(m, {"hairstyle": "bob"}, SEEDS[:40])
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.sample_one(np.random.default_rng(5), {"hairstyle": "bob"}) == m.sample_one(
        np.random.default_rng(5), {"hairstyle": "bob"}
    )
    assert before[0]["hairstyle"] == "bob"


@pytest.mark.realdata
def test_sample_one_equals_sample_on_course_counts(shared_dir: Path) -> None:
    """Cyrillic attribute names and values, counts-only data, the course rules (alpha 1 and 0)."""
    data = load_styles(shared_dir / "data/styles/course_counts.json")
    for alpha in (1.0, 0.0):
        m = StyleModel(alpha=alpha, rules=COURSE_RULES).fit(data)
        sets = pin_sets(m, rng_seed=5) + ([{"прическа": "длинные в пучок"}] if alpha else [])
        for given in sets:
            assert_same_draws(m, given, SEEDS[:80])


def test_sampler_cache_is_bounded_by_entries_and_cells(example: StyleModel) -> None:
    from avatargen.styles.sample import OneStyleSampler, SamplerCache

    net = example.network_
    one = OneStyleSampler(net)
    assert one.cells == sum(c.size for c in net.cpts)
    by_count = SamplerCache(net, max_entries=3, max_cells=10**9)
    for i in range(5):
        by_count.put(((0, i),), one)
    assert len(by_count) == 3 and by_count.get(((0, 0),)) is None and by_count.get(((0, 4),)) is one
    assert by_count.cells == 3 * one.cells
    by_cells = SamplerCache(net, max_entries=100, max_cells=2 * one.cells)
    for i in range(4):
        by_cells.put(((0, i),), one)
    by_cells.get(((0, 2),))  # most recent now: (0, 3) is the older of the two kept
    by_cells.put(((0, 9),), one)
    assert len(by_cells) == 2 and by_cells.get(((0, 2),)) is one and by_cells.get(((0, 3),)) is None
    tiny = SamplerCache(net, max_entries=100, max_cells=1)  # one over the budget is still kept
    tiny.put((), one)
    assert tiny.get(()) is one
