"""A tiny stand-in style model for render tests: independent categorical attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


class StubStyleModel:
    """Independent attributes with fixed probabilities; the StyleModel surface the renderer uses."""

    def __init__(self, probs: dict[str, dict[str, float]]) -> None:
        self.probs = probs
        self.attributes_ = list(probs)
        self.values_ = {a: list(p) for a, p in probs.items()}

    def sample(
        self, n: int, rng: np.random.Generator, given: dict[str, str] | None = None, unique: bool = False
    ) -> pd.DataFrame:
        given = given or {}
        cols: dict[str, np.ndarray] = {}
        prob = np.ones(n)
        for a, p in self.probs.items():
            vals = np.array(list(p), dtype=object)
            w = np.array(list(p.values()), dtype=float)
            if a in given:
                cols[a] = np.full(n, given[a], dtype=object)
                continue
            idx = rng.choice(len(vals), size=n, p=w / w.sum())
            cols[a] = vals[idx]
            prob *= (w / w.sum())[idx]
        df = pd.DataFrame(cols)
        df["probability"] = prob
        return df


@pytest.fixture
def english_model() -> StubStyleModel:
    return StubStyleModel(
        {
            "hairstyle": {"short_flat": 0.5, "bun": 0.3, "none": 0.2},
            "hair_color": {"black": 0.6, "red": 0.4},
            "accessory": {"none": 0.5, "round": 0.5},
            "clothes": {"hoodie": 0.5, "overall": 0.5},
            "clothes_color": {"red": 0.7, "blue_02": 0.3},
        }
    )


@pytest.fixture
def course_model() -> StubStyleModel:
    return StubStyleModel(
        {
            "прическа": {"нет волос": 0.2, "длинные прямые": 0.5, "короткая курчавые": 0.3},
            "цвет волос": {"рыжий": 0.5, "серебристо серый": 0.5},
            "аксесуар": {"круглые очки": 1.0},
            "одежда": {"комбинезон": 0.5, "футболка с V-вырезом": 0.5},
            "цвет одежды": {"зеленый": 0.5, "красный": 0.5},
        }
    )
