"""Arithmetic precision of training and inference: ``fp32``, or ``bf16`` autocast.

``bf16`` runs matrix products and convolutions in bfloat16 under
:func:`torch.autocast` (AMX / AVX512-BF16 on recent Xeons, tensor cores on
CUDA) while the weights, the optimiser state and the loss stay in float32
(mixed precision: callers compute the loss from ``output.float()``). bfloat16
has float32's exponent range, so no loss scaling is needed.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "bf16")


def autocast(device: torch.device | str, precision: str):
    """A context that runs its forward passes at ``precision`` on ``device`` (a no-op for ``fp32``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    if device_type not in ("cpu", "cuda"):
        raise ValueError(f"bf16 autocast runs on cpu or cuda, not {device_type}; use precision fp32")
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


def network_precision(metadata: dict) -> str:
    """The precision a network was trained at (its checkpoint's ``train_config``), ``fp32`` when not recorded;
    inference on it (noise tests, edited transitions, probe features) runs at the same precision."""
    return str((metadata.get("train_config") or {}).get("precision", "fp32"))
