"""The network's input: colour spaces and standardisation (and its saved state)."""

from __future__ import annotations

import numpy as np
import torch

from spillguard.data.preprocess import Preprocessor, rgb_to_hsv, to_unit


def test_colour_spaces_and_standardisation() -> None:
    hsv = rgb_to_hsv(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]]).T.reshape(1, 3, 1, 3))
    assert torch.allclose(hsv[0, :, 0, 0], torch.tensor([0.0, 1.0, 1.0]))
    assert torch.allclose(hsv[0, :, 0, 1], torch.tensor([1 / 3, 1.0, 1.0]))
    assert torch.allclose(hsv[0, :, 0, 2], torch.tensor([0.0, 0.0, 0.5]))
    x = to_unit(np.random.default_rng(0).integers(0, 255, (20, 8, 8, 3), dtype=np.uint8))
    for space in ("rgb", "ycbcr", "hsv"):
        p = Preprocessor(space).fit(x)
        z = p(x)
        assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
        assert torch.allclose(Preprocessor.from_state(p.state())(x), z)
