"""The course counts data set (../shared): Cyrillic names, a zero count, the no-hair inconsistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.styles.data import COURSE_RULES, load_styles
from avatargen.styles.model import StyleModel

pytestmark = pytest.mark.realdata

HAIR, COLOR = "прическа", "цвет волос"


@pytest.fixture(scope="module")
def counts(shared_dir: Path) -> Path:
    return shared_dir / "data" / "styles" / "course_counts.json"


def test_loads_with_names_and_zero_count(counts: Path) -> None:
    d = load_styles(counts)
    assert d.kind == "counts" and d.n_rows == 50 and len(d.attributes) == 5
    assert "футболка с V-вырезом" in d.values["одежда"]
    assert d.counts[HAIR][d.values[HAIR].index("длинные в пучок")] == 0


def test_mle_and_smoothing_on_course_counts(counts: Path) -> None:
    mle = StyleModel(alpha=0.0).fit(load_styles(counts))
    assert mle.marginals()[HAIR]["длинные прямые"] == pytest.approx(23 / 50)
    assert mle.marginals()[HAIR]["длинные в пучок"] == 0.0
    smooth = StyleModel(alpha=1.0).fit(load_styles(counts))
    assert smooth.marginals()[HAIR]["длинные в пучок"] == pytest.approx(1 / 57)
    # no rules: independent attributes, entropy is the sum of the marginal entropies
    assert smooth.entropy() == pytest.approx(
        sum(-sum(p * np.log2(p) for p in m.values() if p > 0) for m in smooth.marginals().values())
    )
    assert any("no rules given" in n.text for n in smooth.notes_)


def test_no_hair_inconsistency_reported_and_resolved(counts: Path) -> None:
    m = StyleModel(alpha=0.0, rules=COURSE_RULES).fit(load_styles(counts))
    bad = [n.text for n in m.notes_ if n.level == "inconsistent"]
    assert len(bad) == 1 and "7 of 50" in bad[0] and "add up to 50" in bad[0]
    colors = m.marginals()[COLOR]
    assert colors["нет"] == pytest.approx(7 / 50)  # total probability: P(no colour) = P(no hair)
    assert colors["серебристо серый"] == pytest.approx(43 / 50 * 24 / 50)
    assert sum(colors.values()) == pytest.approx(1.0)
    assert m.posterior(HAIR, {COLOR: "нет"})["нет волос"] == pytest.approx(1.0)
    df = m.sample(5000, np.random.default_rng(0))
    assert ((df[HAIR] == "нет волос") == (df[COLOR] == "нет")).all()
    # the zero-count hairstyle is never drawn with alpha = 0
    assert not (df[HAIR] == "длинные в пучок").any()


def test_all_course_styles_sum_to_one_and_sampling_matches(counts: Path) -> None:
    from scipy.stats import chisquare

    from avatargen.styles.network import enumerate_support
    from avatargen.styles.sample import ancestral_codes, style_keys

    m = StyleModel(alpha=1.0, rules=COURSE_RULES).fit(load_styles(counts))
    codes, p = enumerate_support(m.network_)
    assert len(codes) == m.n_styles() == 3552
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    # chi-square on the hairstyle x hair-colour margin of 200,000 draws
    draws = ancestral_codes(m.network_, 200_000, np.random.default_rng(7))
    cards = m.network_.cards[:2]
    observed = np.bincount(style_keys(draws[:, :2], cards), minlength=cards[0] * cards[1])
    expected = (
        np.bincount(style_keys(codes[:, :2], cards), weights=p, minlength=cards[0] * cards[1]) * 200_000
    )
    keep = expected > 0
    assert observed[~keep].sum() == 0
    assert chisquare(observed[keep], expected[keep]).pvalue > 0.001
