"""Keras' default initialisation, shared by the thesis's architectures and chapter 5's reward net."""

from __future__ import annotations

import torch
from torch import nn


def keras_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Keras default initialisation in place: Glorot-uniform kernels, zero biases, BN gamma 1 / beta 0.

    torch's ``xavier_uniform_`` computes the conv fans as Keras does
    (receptive field size times input/output channels).
    """
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model
