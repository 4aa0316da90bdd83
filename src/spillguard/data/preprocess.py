"""From uint8 images to the network's input: colour space, optional per-image illumination
normalisation, and per-channel standardisation with statistics learned on the training normals
(training augmentation is in ``spillguard.data.augmentation``)."""

from __future__ import annotations

import numpy as np
import torch

_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 tensor (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> HSV in [0, 1] (hue as a fraction of the circle)."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    mx, _ = x.max(dim=1)
    mn, _ = x.min(dim=1)
    d = mx - mn
    safe = torch.where(d > 0, d, torch.ones_like(d))
    h = torch.where(
        mx == r, ((g - b) / safe) % 6, torch.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    h = torch.where(d > 0, h / 6, torch.zeros_like(h))
    s = torch.where(mx > 0, d / torch.where(mx > 0, mx, torch.ones_like(mx)), torch.zeros_like(mx))
    return torch.stack([h, s, mx], dim=1)


def convert_colour(x: torch.Tensor, space: str) -> torch.Tensor:
    """Convert an RGB batch in [0, 1] to ``space`` ("rgb", "ycbcr" or "hsv")."""
    if space == "rgb":
        return x
    if space == "ycbcr":
        return torch.einsum("ck,nkhw->nchw", _YCBCR.to(x.device, x.dtype), x)
    if space == "hsv":
        return rgb_to_hsv(x)
    raise ValueError(f"unknown colour space {space!r}")


class Preprocessor:
    """Maps RGB batches in [0, 1] to standardised network input; ``fit`` learns mean_/std_ (C,)."""

    def __init__(self, colour: str = "rgb", illumination: str = "none") -> None:
        self.colour = colour
        self.illumination = illumination

    def _base(self, x: torch.Tensor) -> torch.Tensor:
        y = convert_colour(x, self.colour)
        if self.illumination == "per_image":
            m = y.mean(dim=(2, 3), keepdim=True)
            s = y.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
            y = (y - m) / s
        return y

    def fit(self, x: torch.Tensor, batch: int = 4096) -> Preprocessor:
        """Learn per-channel mean and std over a training batch (N, 3, H, W) in [0, 1]."""
        parts = [self._base(x[i : i + batch]) for i in range(0, len(x), batch)]
        y = torch.cat(parts) if parts else self._base(x)
        self.mean_ = y.mean(dim=(0, 2, 3))
        self.std_ = y.std(dim=(0, 2, 3)).clamp_min(1e-4)
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised input for the network, same shape as ``x``."""
        y = self._base(x)
        return (y - self.mean_.to(y.device)[:, None, None]) / self.std_.to(y.device)[:, None, None]

    def state(self) -> dict[str, object]:
        """What a checkpoint stores to rebuild this preprocessor."""
        return {
            "colour": self.colour,
            "illumination": self.illumination,
            "mean": self.mean_.tolist(),
            "std": self.std_.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Preprocessor:
        """Rebuild from ``state()``."""
        p = cls(str(state["colour"]), str(state["illumination"]))
        p.mean_ = torch.tensor(state["mean"], dtype=torch.float32)
        p.std_ = torch.tensor(state["std"], dtype=torch.float32)
        return p
