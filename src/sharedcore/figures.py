"""Matplotlib set-up shared by both tools: a headless backend and atomic PNG saving."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sharedcore.atomic import atomic_path


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 110, force: bool = True) -> Path:
    """Save ``fig`` as PNG atomically and close it. Metadata is stripped so bytes are reproducible."""
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return Path(path)
