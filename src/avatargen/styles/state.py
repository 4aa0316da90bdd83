"""What a fitted StyleModel holds, declared once: its parameters and its learned state (the
scikit-learn trailing-underscore attributes). ``StyleModel.fit`` fills it in, ``persistence`` writes
it to a model file and reads it back."""

from __future__ import annotations

from typing import Any

import numpy as np

from avatargen.styles.consistency import Note
from avatargen.styles.network import TreeNetwork
from avatargen.styles.rules import Rules
from avatargen.styles.sample import keys_to_codes


class StyleModelState:
    """The parameters and the learned state of a style model (``StyleModel`` is one)."""

    # parameters (as given to the constructor; a loaded model's ``rules`` is its ``rules_``)
    alpha: float
    structure: str
    rules: Any
    edge_pvalue: float | None
    # learned state (set by fit / load)
    attributes_: list[str]
    values_: dict[str, list[str]]
    parents_: dict[str, str | None]
    network_: TreeNetwork
    tables_: list[np.ndarray]  # count table of each attribute: (1, K) root, (K_parent, K) child
    counts_: dict[str, np.ndarray]
    mutual_information_: np.ndarray | None
    n_rows_: int
    data_kind_: str  # "rows" or "counts"
    source_: str
    rules_: Rules
    notes_: list[Note]
    training_keys_: np.ndarray  # sorted keys (sample.style_keys) of the distinct training styles

    @property
    def training_codes_(self) -> np.ndarray:
        """The distinct training styles as (m, k) int64 codes (none for counts-only data)."""
        return keys_to_codes(self.training_keys_, self.network_.cards)
