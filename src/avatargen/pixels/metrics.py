"""Quality figures for generated avatars against their training images.

All images are uint8 RGBA arrays (H, W, 4); a stack is (N, H, W, 4). Distances are the mean over
pixels of the Euclidean distance between RGBA vectors (0..510).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from avatargen.pixels.joint import pack


class ScoringModel(Protocol):
    """A model that can be fitted and gives bits/pixel for images."""

    def fit(self, images: np.ndarray) -> Any: ...
    def bits_per_pixel(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Target:
    """A bound on a figure: ``low <= value <= high`` (None = unbounded)."""

    low: float | None
    high: float | None

    def met(self, value: float) -> bool:
        """True when ``value`` lies within the bounds."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g}-{self.high:g}"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"


# The targets for the coherent model on the 11 course images.
TARGETS: dict[str, Target] = {
    "same_as_left": Target(0.95, None),
    "png_bits_per_pixel": Target(None, 1.2),
    "nearest_distance": Target(40.0, 90.0),
    "nearest_identical_share": Target(None, 0.70),
    "pairwise_distance": Target(60.0, 100.0),
}


def distinct_colours(img: np.ndarray) -> int:
    """Number of distinct RGBA colours in one image."""
    return int(np.unique(pack(img).ravel()).size)


def unseen_at_position_share(img: np.ndarray, train: np.ndarray) -> float:
    """Share of pixels whose RGBA colour occurs at that position in no training image."""
    seen = (pack(train) == pack(img)[None]).any(axis=0)
    return float(1.0 - seen.mean())


def same_as_left_share(img: np.ndarray) -> float:
    """Share of pixels (from the second column on) equal in all four channels to their left neighbour."""
    return float((img[:, 1:] == img[:, :-1]).all(axis=-1).mean())


def png_bits_per_pixel(img: np.ndarray) -> float:
    """Size of the image's own optimised RGBA PNG (Pillow, optimize=True) in bits per pixel."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img), "RGBA").save(buf, format="PNG", optimize=True)
    return len(buf.getvalue()) * 8 / (img.shape[0] * img.shape[1])


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-pixel Euclidean RGBA distance between two images."""
    d = a.astype(np.float32) - b.astype(np.float32)
    return float(np.sqrt((d * d).sum(axis=-1)).mean())


def identical_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels identical in all four channels."""
    return float((a == b).all(axis=-1).mean())


def nearest_training(
    img: np.ndarray, train: np.ndarray, exclude: int | None = None
) -> tuple[int, float, float]:
    """Nearest training image by mean RGBA distance -> (index, distance, identical-pixel share)."""
    dists = np.array([np.inf if k == exclude else distance(img, t) for k, t in enumerate(train)])
    k = int(np.argmin(dists))
    return k, float(dists[k]), identical_share(img, train[k])


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean RGBA distance over all unordered pairs of ``images`` (NaN for fewer than two)."""
    n = len(images)
    pairs = [distance(images[i], images[j]) for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(pairs)) if pairs else float("nan")


def loo_bits_per_pixel(make_model: Callable[[], ScoringModel], images: np.ndarray) -> float:
    """Leave-one-image-out: fit on N-1 images, bits/pixel of the held-out one, averaged over all N."""
    n = len(images)
    if n < 2:
        return float("nan")
    bits = []
    for k in range(n):
        rest = np.delete(images, k, axis=0)
        bits.append(float(make_model().fit(rest).bits_per_pixel(images[k : k + 1])[0]))
    return float(np.mean(bits))


def sample_rows(samples: np.ndarray, train: np.ndarray) -> list[dict[str, float]]:
    """Per-sample figures: distinct colours, unseen-at-position share, same-as-left, PNG bpp, nearest."""
    rows = []
    for s in samples:
        k, dist, ident = nearest_training(s, train)
        rows.append(
            {
                "distinct_colours": distinct_colours(s),
                "unseen_at_position": unseen_at_position_share(s, train),
                "same_as_left": same_as_left_share(s),
                "png_bits_per_pixel": png_bits_per_pixel(s),
                "nearest_index": k,
                "nearest_distance": dist,
                "nearest_identical_share": ident,
            }
        )
    return rows


def summarise(samples: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """Mean of the per-sample figures plus the mean pairwise distance among samples.

    ``distinct_colours`` is the mean count; ``nearest_identical_share`` is the largest over samples
    (the target is a per-sample bound); ``n_nearest`` is how many different training images are nearest.
    """
    rows = sample_rows(samples, train)
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "nearest_index"}
    out["nearest_identical_share"] = float(max(r["nearest_identical_share"] for r in rows))
    out["n_nearest"] = float(len({r["nearest_index"] for r in rows}))
    out["pairwise_distance"] = mean_pairwise_distance(samples)
    return out


def training_reference(train: np.ndarray) -> dict[str, float]:
    """The same figures for the real avatars: each training image against the other ones."""
    n = len(train)
    colours = [distinct_colours(t) for t in train]
    nearest = [nearest_training(train[k], train, exclude=k) for k in range(n)] if n > 1 else []
    return {
        "distinct_colours_min": float(min(colours)),
        "distinct_colours_max": float(max(colours)),
        "distinct_colours": float(np.mean(colours)),
        "same_as_left": float(np.mean([same_as_left_share(t) for t in train])),
        "png_bits_per_pixel": float(np.mean([png_bits_per_pixel(t) for t in train])),
        "nearest_distance": float(np.mean([d for _, d, _ in nearest])) if nearest else float("nan"),
        "nearest_distance_min": float(min(d for _, d, _ in nearest)) if nearest else float("nan"),
        "nearest_distance_max": float(max(d for _, d, _ in nearest)) if nearest else float("nan"),
        "nearest_identical_share": float(max(s for _, _, s in nearest)) if nearest else float("nan"),
        "pairwise_distance": mean_pairwise_distance(train),
    }


def targets_met(figures: dict[str, float]) -> dict[str, bool]:
    """For each target of :data:`TARGETS`, whether ``figures`` meets it."""
    return {k: t.met(figures[k]) for k, t in TARGETS.items() if k in figures}
