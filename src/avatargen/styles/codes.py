"""Names <-> codes of a fitted style model: a style ``{attribute: value}`` to ``{attribute index:
value index}``, a table of names to (n, k) int64 codes, and codes back to a table of names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from avatargen.styles.state import StyleModelState
from sharedcore.errors import UserError


class StyleCodes(StyleModelState):
    """The encoding of a model's styles by its ``attributes_`` and ``values_`` (StyleModel has it)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("StyleModel is not fitted; call fit() or StyleModel.load()")

    def encode(self, style: dict[str, str], where: str = "style") -> dict[int, int]:
        """Map {attribute: value} to {attribute index: value index}; unknown names -> UserError."""
        self._check_fitted()
        out: dict[int, int] = {}
        for a, v in style.items():
            if a not in self.attributes_:
                raise UserError(
                    f"{where}: unknown attribute '{a}'; the model has: {', '.join(self.attributes_)}"
                )
            vals = self.values_[a]
            if v not in vals:
                raise UserError(
                    f"{where}: attribute '{a}' has no value '{v}'; known values: {', '.join(vals)}"
                )
            out[self.attributes_.index(a)] = vals.index(v)
        return out

    def encode_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Codes (n, k) of a table with one column per model attribute; unknown values -> -1."""
        self._check_fitted()
        missing = [a for a in self.attributes_ if a not in df.columns]
        if missing:
            raise UserError(
                f"table: column '{missing[0]}' is missing; the model needs {', '.join(self.attributes_)}"
            )
        out = np.empty((len(df), len(self.attributes_)), dtype=np.int64, order="F")
        for i, a in enumerate(self.attributes_):
            col = df[a]
            if isinstance(col.dtype, pd.CategoricalDtype):
                codes = np.asarray(col.cat.codes, dtype=np.int64)
                uniques = [str(c) for c in col.cat.categories]
            else:
                codes, uniq = pd.factorize(col, use_na_sentinel=True)
                uniques = [str(u) for u in uniq]
            index = {v: j for j, v in enumerate(self.values_[a])}
            remap = np.asarray([index.get(u.strip(), -1) for u in uniques] + [-1], dtype=np.int64)
            out[:, i] = remap[codes]  # code -1 (missing) picks the trailing -1
        return out

    def decode(self, codes: np.ndarray, probability: np.ndarray | None = None) -> pd.DataFrame:
        """A table of value names (categorical columns) from valid (n, k) codes, plus an optional
        ``probability`` column."""
        cols: dict[str, Any] = {
            a: pd.Categorical.from_codes(
                codes[:, i], categories=pd.Index(self.values_[a], dtype=object), validate=False
            )
            for i, a in enumerate(self.attributes_)
        }
        if probability is not None:
            cols["probability"] = probability
        return pd.DataFrame(cols, copy=False)
