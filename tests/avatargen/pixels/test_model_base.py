"""The shared pixel-model surface: the likelihood capability and the scores it derives."""

from __future__ import annotations

import numpy as np
import pytest

from avatargen.pixels.methods import METHODS, make_model
from avatargen.pixels.model_base import PerPixelLikelihood, check_images
from sharedcore.errors import UserError


def _images(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (n, 8, 6, 4), dtype=np.uint8) * 60
    x[..., 3] = 255
    return x


def test_the_likelihood_capability_is_declared_by_the_class() -> None:
    assert {m for m, cls in METHODS.items() if issubclass(cls, PerPixelLikelihood)} == {"literal", "joint"}


@pytest.mark.parametrize("method", ["literal", "joint"])
def test_scores_follow_from_bits_per_pixel(method: str) -> None:
    train = _images()
    model = make_model(method, alpha=0.5).fit(train)
    assert isinstance(model, PerPixelLikelihood)
    bits = model.bits_per_pixel(train)
    assert bits.shape == (6,) and np.all(bits > 0)
    np.testing.assert_array_equal(model.score_samples(train), -bits)
    assert model.score(train) == pytest.approx(-bits.mean())
    assert model.image_shape == (8, 6)


def test_check_images_names_shape_and_fix() -> None:
    with pytest.raises(UserError, match=r"shape \(2, 8, 6, 3\); pass uint8 RGBA images"):
        check_images(np.zeros((2, 8, 6, 3), np.uint8))
