"""Arithmetic precision of training and inference: ``fp32``, ``bf16`` autocast, or ``auto``.

``bf16`` runs matrix products and convolutions in bfloat16 under
:func:`torch.autocast` (AMX / AVX512-BF16 on recent Xeons, tensor cores on
CUDA) while the weights, the optimiser state and the loss stay in float32
(mixed precision: callers compute the loss from ``output.float()``). bfloat16
has float32's exponent range, so no loss scaling is needed.

A spatial average and the layer after it stay in float32 (:class:`Float32SpatialMean`,
:class:`Float32Linear`): bfloat16 keeps 8 significant bits, so a mean over a 64x64 map rounded
to bfloat16 loses any change confined to a few pixels. The reward net's evidence of reward (the
agent's sprite on a 3x3-pixel coin) is such a change: averaged into a channel of mean 1.5, a
3x3 bump of +1 moves the mean by 0.0022, below bfloat16's step of 0.0078 there, so under plain
autocast the head never sees it.

``auto`` is bf16 where the device computes in bfloat16 natively and fp32 elsewhere
(:func:`resolve_precision`). bfloat16 is only fast with hardware support: on a CPU with AVX2 only
(an AMD EPYC without AVX-512) oneDNN falls back to reference kernels, and one bf16 forward pass of
three small convolutions took 7.1 s against 0.15 s in fp32 (0.81 s against 0.07 s channels-last),
where an AMX Xeon trains the reward net 2-6x faster in bf16 (``benchmarks/reward_nets.py``).
Training resolves ``auto`` once, on the device it runs on, and records the precision it used.
"""

from __future__ import annotations

import contextlib
import functools

import torch

PRECISIONS = ("fp32", "bf16")
#: What the ``precision`` setting takes: a precision, or ``auto`` (:func:`resolve_precision`).
PRECISION_SETTINGS = ("auto", *PRECISIONS)


#: CPU flags (Linux ``/proc/cpuinfo``) of bfloat16 arithmetic in hardware; oneDNN also offers bf16 on plain
#: AVX-512 CPUs, where it is emulated.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo``, or ``None`` where it cannot be read (not Linux); read once
    (``autocast`` resolves ``auto`` on every batch)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` runs bfloat16 convolutions and products natively: a CUDA device with bf16 support,
    or a CPU whose oneDNN has bf16 kernels and, where ``/proc/cpuinfo`` says, bf16 instructions (AMX or
    AVX512-BF16; not an AVX2-only CPU, nor a plain AVX-512 one, where oneDNN emulates them)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False
    flags = cpu_flags()
    return onednn and (flags is None or bool(flags & BF16_CPU_FLAGS))


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``precision`` itself, or for ``auto`` ``bf16`` where :func:`native_bf16` holds on ``device``, else ``fp32``."""
    if precision not in PRECISION_SETTINGS:
        raise ValueError(f"precision must be one of {PRECISION_SETTINGS}, got {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def autocast(device: torch.device | str, precision: str):
    """A context that runs its forward passes at ``precision`` on ``device`` (a no-op for ``fp32``; ``auto``
    is resolved on ``device``)."""
    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    if device_type not in ("cpu", "cuda"):
        raise ValueError(f"bf16 autocast runs on cpu or cuda, not {device_type}; use precision fp32")
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


class Float32SpatialMean(torch.nn.AdaptiveAvgPool2d):
    """``AdaptiveAvgPool2d`` computed in float32 from its input upcast, also under autocast (a drop-in subclass:
    no parameters, same output shape; autocast leaves pooling at its input's dtype)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(x.float(), self.output_size)


class Float32Linear(torch.nn.Linear):
    """``Linear`` computed in float32, also under autocast (a drop-in subclass: same parameters and state dict).

    Written as a broadcast product and sum, which autocast does not cast (``linear`` and ``matmul`` it would
    run in bfloat16), so it also runs scripted, where an autocast context cannot be switched off. Meant for
    small heads (a few hundred inputs, a few outputs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = (x.float().unsqueeze(-2) * self.weight).sum(-1)
        return out + self.bias if self.bias is not None else out


def network_precision(metadata: dict) -> str:
    """The precision a network was trained at (its checkpoint's ``train_config``), ``fp32`` when not recorded;
    inference on it (noise tests, edited transitions, probe features) runs at the same precision."""
    return str((metadata.get("train_config") or {}).get("precision", "fp32"))
