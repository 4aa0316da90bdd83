"""The experiment run: every plot and report written, same bytes for the same seed; diversity figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES
from avatargen.styles.diversity import diversity, diversity_curve
from avatargen.styles.experiment import run_experiment
from avatargen.styles.model import StyleModel


def test_diversity_figures_by_hand() -> None:
    train = pd.DataFrame({"x": ["a", "b"], "y": ["u", "v"]})
    m = StyleModel(alpha=1.0, structure="independent").fit(train)
    sample = pd.DataFrame({"x": ["a", "a", "b", "a"], "y": ["u", "u", "v", "v"]})
    d = diversity(sample, m)
    assert d.distinct == 3 and d.distinct_fraction == pytest.approx(0.75)
    assert d.novel_fraction == pytest.approx(0.25)  # only (a, v) is new
    assert d.empirical_entropy == pytest.approx(1.5)
    assert d.model_entropy == pytest.approx(m.entropy())


def test_run_experiment_writes_report_deterministically(tmp_path: Path) -> None:
    kw = {"seed": 1, "alpha": 1.0, "rules": EXAMPLE_RULES, "sizes": [10, 100], "alphas": [0.0, 1.0]}
    res = run_experiment(EXAMPLE_STYLES, tmp_path / "a", **kw)  # type: ignore[arg-type]
    html = res.report
    names = {p.name for p in html.parent.iterdir()}
    assert res.figures == sorted(n for n in names if n.endswith(".png"))  # every figure, from the result
    for f in [
        "report.html",
        "report.md",
        "explain.md",
        "model.json",
        "alpha.png",
        "diversity.png",
        "marginals.png",
        "mutual_information.png",
        "value_effects.png",
        "style_probabilities.png",
        "samples.csv",
        "samples_unique.csv",
    ]:
        assert f in names
    text = html.read_text(encoding="utf-8")
    assert "Consistency report" in text and "5-fold cross-validation" in text
    again = run_experiment(EXAMPLE_STYLES, tmp_path / "b", **kw).report  # type: ignore[arg-type]
    for f in ["alpha.png", "diversity.png", "report.md"]:
        assert (html.parent / f).read_bytes() == (again.parent / f).read_bytes()
    assert not np.isnan(StyleModel.load(html.parent / "model.json").entropy())


@pytest.mark.realdata
def test_run_experiment_on_course_counts(shared_dir: Path, tmp_path: Path) -> None:
    from avatargen.styles.data import COURSE_RULES

    html = run_experiment(
        shared_dir / "data" / "styles" / "course_counts.json",
        tmp_path / "c",
        rules=COURSE_RULES,
        sizes=[10, 1000],
        alphas=[0.0, 1.0],
    ).report
    text = html.read_text(encoding="utf-8")
    assert "inconsistent" in text and "7 of 50" in text
    assert "cannot be estimated" in text


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


def test_diversity_curve_with_no_size_keeps_its_columns() -> None:
    # one training row and no other possible style: --unique sampling has no size to run at;
    # `styles experiment` crashed with KeyError 'n' drawing the empty curve
    m = StyleModel(alpha=0).fit(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    df = diversity_curve(m, [], np.random.default_rng(0), unique=True)
    assert df.empty and {"n", "distinct_fraction", "novel_fraction", "empirical_entropy"} <= set(df.columns)


def test_experiment_on_a_single_row(tmp_path: Path) -> None:
    from avatargen.styles.experiment import run_experiment

    p = tmp_path / "one.csv"
    p.write_text("a,b\nx,y\n", encoding="utf-8")
    res = run_experiment(p, tmp_path / "x", sizes=[1, 2], alphas=[0.0, 1.0])
    assert res.report.is_file() and (tmp_path / "x" / "diversity.png").is_file()
