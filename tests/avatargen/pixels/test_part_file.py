"""The .npz file of a part model: what is written is read back, checked; another model's file is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.pixels.joint import JointColourModel
from avatargen.pixels.part_file import TRAINING_ARRAYS, read_parts
from avatargen.pixels.part_model import PartBasedModel
from sharedcore.errors import UserError


def test_written_parts_read_back_with_layout_and_parameters(
    drawn_avatars: np.ndarray, tmp_path: Path
) -> None:
    m = PartBasedModel(alpha=0.5, keep_hair_colour=0.25, max_identical=None, max_tries=7).fit(
        drawn_avatars[:6]
    )
    params, layout, arrays = read_parts(m.save(tmp_path / "p.npz"))
    assert params == {
        "alpha": 0.5,
        "keep_hair_colour": 0.25,
        "max_identical": None,
        "min_distance": 35.0,
        "max_tries": 7,
    }
    lay = m.layout_
    assert (layout.top, layout.split, layout.face_top, layout.beard_top) == (
        lay.top,
        lay.split,
        lay.face_top,
        lay.beard_top,
    )
    assert np.array_equal(layout.template, lay.template) and np.array_equal(layout.face_core, lay.face_core)
    for name in TRAINING_ARRAYS:
        assert np.array_equal(arrays[name], getattr(m, f"{name}_")), name
    assert arrays["has"].dtype == bool and arrays["face"].dtype == bool


def test_a_file_of_another_model_is_refused(drawn_avatars: np.ndarray, tmp_path: Path) -> None:
    path = JointColourModel().fit(drawn_avatars[:4]).save(tmp_path / "j.npz")
    with pytest.raises(UserError, match=r"j\.npz"):
        read_parts(path)
