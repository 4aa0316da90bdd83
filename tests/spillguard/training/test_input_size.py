"""Input size from the data: the pit size stays 32x48, large images fit the budget with their aspect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spillguard.training.input_size import choose_input_size, image_sizes, is_greyscale


def test_pit_crops_keep_their_size() -> None:
    # the real pit crops: median 27x48 (39-72 x 23-40)
    sizes = [(27, 48)] * 5 + [(23, 39), (40, 72), (28, 49), (26, 47)]
    c = choose_input_size(sizes)
    assert (c.height, c.width) == (32, 48) and not c.scaled
    assert "32x48" in c.describe() and "27x48" in c.describe()


@pytest.mark.parametrize(
    ("hw", "budget", "expected"),
    [
        ((256, 256), 128 * 128, (128, 128)),
        ((250, 250), 128 * 128, (128, 128)),
        ((512, 256), 128 * 128, (176, 88)),
    ],
)
def test_large_images_fit_the_budget_aspect_kept(
    hw: tuple[int, int], budget: int, expected: tuple[int, int]
) -> None:
    c = choose_input_size([hw] * 3, budget)
    assert (c.height, c.width) == expected
    assert c.height % 8 == 0 and c.width % 8 == 0 and c.height * c.width <= budget and c.scaled
    assert abs(c.height / c.width - hw[0] / hw[1]) < 0.1


def test_odd_sizes_stay_within_budget() -> None:
    for h, w in [(250, 300), (301, 203), (1000, 90), (13, 9)]:
        c = choose_input_size([(h, w)], 100 * 100)
        assert c.height * c.width <= 100 * 100 and c.height % 8 == 0 and c.width % 8 == 0
        assert c.height >= 8 and c.width >= 8


def test_sizes_from_headers_and_greyscale(tmp_path: Path) -> None:
    paths = []
    for i, (w, h) in enumerate([(40, 30), (60, 20)]):
        p = tmp_path / f"{i}.png"
        Image.new("L", (w, h), 100).save(p)
        paths.append(p)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert image_sizes([*paths, tmp_path / "bad.png"]) == [(30, 40), (20, 60)]
    grey = np.repeat(np.random.default_rng(0).integers(0, 255, (4, 8, 8, 1), dtype=np.uint8), 3, axis=3)
    colour = grey.copy()
    colour[0, 0, 0, 1] = 255 if colour[0, 0, 0, 0] < 200 else 0
    assert is_greyscale(grey) and not is_greyscale(colour)


def test_sizes_follow_the_exif_turn_that_the_loader_applies(tmp_path: Path) -> None:
    from sharedcore.images import load_array

    p = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40 wide x 30 high, shown turned by 90 degrees: 30 wide x 40 high
    Image.new("RGB", (40, 30), (90, 60, 30)).save(p, exif=exif)
    assert image_sizes([p]) == [(40, 30)]
    assert load_array(p).shape[:2] == (40, 30)  # what training and scoring decode
