"""Magnitude pruning with TensorFlow Model Optimization's PolynomialDecay schedule.

Semantics follow ``tensorflow_model_optimization/python/core/sparsity/keras``
(``pruning_schedule.py``, ``pruning_impl.py``):

* ``PolynomialDecay.__call__``: ``p = clip((step - begin_step) / (end_step -
  begin_step), 0, 1)``, ``sparsity = final + (initial - final) * (1 - p) ** power``.
* ``PruningSchedule._should_prune_in_step``: masks are updated only when
  ``begin_step <= step <= end_step`` and ``(step - begin_step) % frequency == 0``.
* ``Pruning._update_mask``: per weight tensor, ``k = max(round(size * (1 -
  sparsity)), 1)``; the threshold is the k-th largest ``|w|`` and the mask keeps
  ``|w| >= threshold``.
* The wrapper updates the mask at the start of a training step, then multiplies
  the kernel by it; we additionally zero masked weights after every optimizer
  step, so pruned weights are exactly zero at all times.

``step`` counts optimizer steps of the pruning phase from 0 (the thesis prunes
with ``begin_step=0`` a freshly compiled Keras model whose optimizer counter
starts at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class PolynomialDecay:
    """TF-MOT's ``PolynomialDecay`` pruning schedule."""

    initial_sparsity: float
    final_sparsity: float
    begin_step: int
    end_step: int
    power: float = 3.0
    frequency: int = 100

    def __post_init__(self) -> None:
        if self.begin_step < 0 or self.end_step < self.begin_step:
            raise ValueError(f"need 0 <= begin_step <= end_step, got {self.begin_step}, {self.end_step}")
        if self.frequency <= 0:
            raise ValueError("frequency should be > 0")

    def sparsity(self, step: int) -> float:
        span = self.end_step - self.begin_step
        p = 1.0 if span == 0 else min(1.0, max(0.0, (step - self.begin_step) / span))
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - p) ** self.power

    def should_prune(self, step: int) -> bool:
        return self.begin_step <= step <= self.end_step and (step - self.begin_step) % self.frequency == 0


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask of the ``max(round(n * (1 - sparsity)), 1)`` largest-magnitude entries (ties kept, as TF-MOT)."""
    flat = weight.detach().abs().flatten()
    k = max(int(round(flat.numel() * (1.0 - sparsity))), 1)
    threshold = torch.topk(flat, k, sorted=True).values[k - 1]
    return weight.detach().abs() >= threshold


class MagnitudePruner:
    """Per-layer magnitude pruning of every Linear/Conv2d kernel (not biases, not batch norm)."""

    def __init__(self, model: nn.Module, schedule: PolynomialDecay):
        self.schedule = schedule
        self.params: dict[str, nn.Parameter] = {
            f"{name}.weight": module.weight
            for name, module in model.named_modules()
            if isinstance(module, (nn.Linear, nn.Conv2d))
        }
        self.masks: dict[str, torch.Tensor] = {k: torch.ones_like(p, dtype=torch.bool) for k, p in self.params.items()}

    def before_step(self, step: int) -> None:
        """Update the masks if the schedule says so at ``step``, then apply them."""
        if self.schedule.should_prune(step):
            sparsity = self.schedule.sparsity(step)
            for key, param in self.params.items():
                self.masks[key] = magnitude_mask(param, sparsity)
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        """Set every masked-out kernel entry to exactly zero."""
        for key, param in self.params.items():
            param.mul_(self.masks[key])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in self.masks.items()}

    def load_state_dict(self, masks: dict[str, torch.Tensor]) -> None:
        for key in self.params:
            self.masks[key] = masks[key].to(self.params[key].device).bool()


def kernel_sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero entries over all Linear/Conv2d kernels."""
    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total if total else 0.0
