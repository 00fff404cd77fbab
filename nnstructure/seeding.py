"""Deterministic seeds derived from an experiment cell's identity."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any sequence of printable parts.

    ``derive_seed("mnist", "mlp", 3)`` is the same on every machine and Python
    run (unlike ``hash``), and different parts give unrelated seeds.
    """
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
