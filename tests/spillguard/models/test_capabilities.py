"""Models declare what they can do (capability Protocols among their bases), not found by hasattr."""

from __future__ import annotations

from spillguard.models import MODELS, build_model
from spillguard.models.capabilities import (
    AnomalyMapper,
    MemoryModel,
    Reconstructor,
    SeparableDecoder,
    SpillClassifier,
)


def test_every_model_declares_its_capabilities() -> None:
    declared = {
        name: {
            p.__name__
            for p in (Reconstructor, SpillClassifier, SeparableDecoder, MemoryModel, AnomalyMapper)
            if p in cls.__mro__
        }
        for name, cls in MODELS.items()
    }
    assert declared == {
        "conv_ae": {"Reconstructor"},
        "conv_vae": {"Reconstructor"},
        "memory_ae": {"Reconstructor", "MemoryModel"},
        "conv_ae_head": {"Reconstructor", "SpillClassifier", "SeparableDecoder"},
        "conv_seg_head": {"Reconstructor", "SpillClassifier", "SeparableDecoder", "AnomalyMapper"},
    }
    head = build_model("conv_ae_head")
    assert isinstance(head, SpillClassifier) and isinstance(head, SeparableDecoder)
    assert not isinstance(build_model("conv_ae"), SpillClassifier)
    seg = build_model("conv_seg_head")
    assert isinstance(seg, AnomalyMapper) and not isinstance(head, AnomalyMapper)
