"""CIFAR-10 data augmentation as batched tensor ops (thesis 3.4, Keras ImageDataGenerator settings).

``rotation_range=15`` (uniform angle in [-15, 15] degrees), ``width_shift_range
= height_shift_range = 0.1`` (uniform shift up to 10% of the side), random
horizontal flips and Keras' default ``fill_mode="nearest"`` (grid_sample's
``padding_mode="border"``). Runs on whatever device the batch is on.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(x: torch.Tensor, generator: torch.Generator, max_degrees: float = 15.0, max_shift: float = 0.1) -> torch.Tensor:
    """Randomly rotate, shift and horizontally flip a float batch ``(N, C, H, W)``."""
    n = x.shape[0]
    rand = torch.rand(n, 4, generator=generator).to(x.device)
    angle = (rand[:, 0] * 2 - 1) * math.radians(max_degrees)
    # affine_grid works in normalised coordinates [-1, 1]: a shift of s * side is 2s.
    tx = (rand[:, 1] * 2 - 1) * max_shift * 2
    ty = (rand[:, 2] * 2 - 1) * max_shift * 2
    flip = torch.where(rand[:, 3] < 0.5, -1.0, 1.0).to(x)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], dim=1), torch.stack([sin * flip, cos, ty], dim=1)], dim=1
    ).to(x)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
