"""model_params checked against the model's constructor (issue 10, found by the sweep): unknown
names, wrong types, channel counts that would allocate terabytes, negative sizes, and a depth the
input size cannot be halved to are one-line errors, not TypeError/RuntimeError/out-of-memory."""

from __future__ import annotations

from typing import Any

import pytest

from sharedcore.errors import UserError
from spillguard.config import TrainConfig
from spillguard.models.registry import build_model, check_params
from spillguard.training.input_size import choose_input_size


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nope": 1}, "parameter 'nope': model 'conv_ae_head' has no such parameter; known: widths, latent"),
        ({"widths": [100000, 100000]}, r"parameter 'widths'\[0\]: 100000 is out of range"),
        ({"widths": []}, "is not a list of 1 to 6 channel counts"),
        ({"widths": "ab"}, "is not a list of 1 to 6 channel counts"),
        ({"widths": [8] * 7}, "is not a list of 1 to 6 channel counts"),
        ({"widths": [float("nan")]}, "nan is not a finite number"),
        ({"latent": -1}, "parameter 'latent': -1 is out of range"),
        ({"latent": 1.5}, "1.5 is not a whole number"),
        ({"latent": True}, "True is not an integer"),
        ({"latent": 10**8}, "is out of range"),
        ({"stem": -3}, "parameter 'stem': -3 is out of range"),
        ({"batch_norm": "no"}, "'no' is not true or false"),
    ],
)
def test_bad_model_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        TrainConfig(model_params=params).validate("c.yaml")
    with pytest.raises(UserError):
        build_model("conv_ae_head", 3, params)


def test_good_model_params_are_normalised() -> None:
    assert check_params("conv_ae", {"widths": (8.0, 16), "latent": 4.0}) == {"widths": [8, 16], "latent": 4}
    assert check_params("memory_ae", {"compact": 0, "mode": "concat"}) == {"compact": 0.0, "mode": "concat"}
    assert check_params("conv_ae_head", {"stem": 0})["stem"] == 0


def test_the_input_size_follows_the_model_depth() -> None:
    deep = {"widths": [8, 8, 8, 8]}
    assert TrainConfig(model_params=deep).size_multiple == 16 and TrainConfig().size_multiple == 8
    with pytest.raises(
        UserError, match=r"16x24 must be multiples of 16 \(the model halves the input 4 times\)"
    ):
        TrainConfig(model_params=deep, height=16, width=24).validate()
    TrainConfig(model_params=deep, height=16, width=32).validate()
    choice = choose_input_size([(27, 49)] * 5, 128 * 128, multiple=16)
    assert (choice.height, choice.width) == (32, 48) and choice.multiple == 16
    assert (choose_input_size([(27, 49)] * 5).height, choose_input_size([(27, 49)] * 5).width) == (32, 48)
