"""Every registered model (the AE with a spill head, the VAE, the MNAD-style memory AE): shapes and their extra behaviour."""

from __future__ import annotations

import pytest
import torch

from sharedcore.errors import UserError
from spillguard.models import MODELS, build_model


@pytest.mark.parametrize("name", ["conv_ae_head", "conv_vae", "memory_ae"])
def test_models_reconstruct_with_the_input_shape_and_encode(name: str) -> None:
    m = build_model(name, 3, {})
    x = torch.randn(5, 3, 32, 48)
    m.train()
    assert m(x).shape == x.shape
    assert float(m.regularisation().detach()) >= 0  # type: ignore[operator]
    m.eval()
    assert m.encode(x).shape[0] == 5  # type: ignore[operator]
    assert name in MODELS


def test_head_gives_one_logit_per_image_from_one_encoder_pass() -> None:
    m = build_model("conv_ae_head", 3, {"stem": 4, "widths": [8, 16, 32], "latent": 8}).eval()
    x = torch.randn(3, 3, 32, 48)
    recon, logit = m.forward_both(x)  # type: ignore[operator]
    assert recon.shape == x.shape and logit.shape == (3,)
    assert torch.allclose(logit, m.spill_logit(x))  # type: ignore[operator]


def test_vae_samples_in_training_and_is_deterministic_in_eval() -> None:
    torch.manual_seed(0)
    m = build_model("conv_vae", 3, {"beta": 0.01})
    x = torch.randn(4, 3, 32, 48)
    m.train()
    assert not torch.allclose(m(x), m(x))
    assert float(m.regularisation().detach()) > 0  # type: ignore[operator]
    m.eval()
    assert torch.allclose(m(x), m(x))


def test_memory_assigns_every_latent_cell_to_an_item() -> None:
    m = build_model("memory_ae", 3, {"items": 6}).eval()
    a = m.assign(torch.randn(2, 3, 32, 48))  # type: ignore[operator]
    assert a.shape == (2, 4, 6) and int(a.min()) >= 0 and int(a.max()) < 6


def test_bad_memory_mode_is_a_user_error() -> None:
    with pytest.raises(UserError, match="memory_ae"):
        build_model("memory_ae", 3, {"mode": "nope"})
