"""Diversity and uniqueness of a sample of styles: distinct fraction, novelty against the training
rows, and the sample's empirical entropy against the model's entropy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from avatargen.styles.model import StyleModel
from avatargen.styles.sample import style_keys
from sharedcore.errors import UserError


@dataclass
class Diversity:
    """Figures for one sample of n styles (entropies in bits)."""

    n: int
    distinct: int
    distinct_fraction: float
    novel_fraction: float
    novel_distinct_fraction: float
    empirical_entropy: float
    miller_madow_entropy: float
    model_entropy: float

    def as_dict(self) -> dict[str, float]:
        """The figures as a plain dict (for tables)."""
        return asdict(self)


def diversity(sample: pd.DataFrame, model: StyleModel) -> Diversity:
    """Diversity figures of ``sample`` (columns: the model's attributes) under ``model``.

    novel_fraction: share of sampled rows whose style is not among the training rows (0 for
    counts-only models, which have no rows: every style counts as novel there, reported as 1).
    empirical_entropy: plug-in entropy of the sample's style frequencies; Miller-Madow adds
    (distinct - 1) / (2 n ln 2), a first-order correction of its downward bias.
    """
    codes = model.encode_frame(sample)
    if (codes < 0).any():
        r, c = (int(x[0]) for x in np.nonzero(codes < 0))
        a = model.attributes_[c]
        raise UserError(f"sample: row {r + 1}, column '{a}': value '{sample[a].iloc[r]}' is not in the model")
    n = len(codes)
    keys = style_keys(codes, model.network_.cards)
    uniq, counts = np.unique(keys, return_counts=True)
    train = model.training_keys()
    novel = ~np.isin(keys, train) if len(train) else np.ones(n, dtype=bool)
    novel_u = ~np.isin(uniq, train) if len(train) else np.ones(len(uniq), dtype=bool)
    p = counts / max(n, 1)
    h = float(-(p * np.log2(p)).sum()) if n else 0.0
    return Diversity(
        n=n,
        distinct=len(uniq),
        distinct_fraction=len(uniq) / max(n, 1),
        novel_fraction=float(novel.mean()) if n else 0.0,
        novel_distinct_fraction=float(novel_u.mean()) if len(uniq) else 0.0,
        empirical_entropy=h,
        miller_madow_entropy=h + (len(uniq) - 1) / (2 * max(n, 1) * np.log(2)),
        model_entropy=model.entropy(),
    )


def diversity_curve(
    model: StyleModel, sizes: list[int], rng: np.random.Generator, unique: bool = False
) -> pd.DataFrame:
    """Diversity figures for samples of each size in ``sizes`` (one row per size)."""
    rows = []
    for n in sizes:
        df = model.sample(n, rng, unique=unique)
        rows.append(diversity(df, model).as_dict())
    # the columns even when no size is given (e.g. --unique with no unseen style left)
    return pd.DataFrame(rows, columns=[f.name for f in fields(Diversity)])
