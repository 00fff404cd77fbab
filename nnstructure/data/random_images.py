"""Random images with random labels (thesis section 3.3.4: unlearnable random and memorization).

Every pixel is independently uniform on 0-255 (uint8, ``(N, 1, 28, 28)``) and
every label independently uniform on 0-9.
"""

from __future__ import annotations

import numpy as np


def make_random(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    images = rng.integers(0, 256, size=(n, 1, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, size=n).astype(np.int64)
