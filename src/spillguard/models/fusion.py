"""Inference-only speed-up for any registered model: fold each BatchNorm into the convolution before it
(inside ``nn.Sequential`` blocks) and use the channels-last layout. Same outputs to about 1e-6."""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

M = TypeVar("M", bound=nn.Module)


def fuse_for_inference(model: M) -> M:
    """An eval-mode copy of ``model`` (same class, so its capabilities stay declared) with
    Conv/ConvTranspose + BatchNorm pairs fused, channels-last."""
    fused = copy.deepcopy(model).eval()
    for seq in [m for m in fused.modules() if isinstance(m, nn.Sequential)]:
        layers, i = list(seq), 0
        out: list[nn.Module] = []
        while i < len(layers):
            layer = layers[i]
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d) and isinstance(nxt, nn.BatchNorm2d):
                out.append(fuse_conv_bn_eval(layer, nxt, transpose=isinstance(layer, nn.ConvTranspose2d)))
                i += 2
            else:
                out.append(layer)
                i += 1
        seq._modules.clear()
        for k, layer in enumerate(out):
            seq.add_module(str(k), layer)
    return fused.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
