"""BatchNorm folding and channels-last for inference: the same outputs as the trained model."""

from __future__ import annotations

import pytest
import torch

from spillguard.models import build_model


@pytest.mark.parametrize("name", ["conv_ae_head", "conv_vae", "memory_ae"])
def test_trained_models_can_be_fused_for_fast_scoring(name: str) -> None:
    from spillguard.models.fusion import fuse_for_inference

    m = build_model(name, 3, {})
    m.train()
    m(torch.randn(4, 3, 32, 48)).mean().add(m.regularisation()).backward()  # type: ignore[operator]
    m.eval()
    x = torch.randn(2, 3, 32, 48)
    with torch.inference_mode():
        assert torch.allclose(fuse_for_inference(m)(x), m(x), atol=1e-4)
