"""'Dots and distances' (thesis section 5.9).

Each image is a white unit square rendered at 64x64 RGB, with six filled
circles of radius 0.05: two red, two blue, two green, drawn in that order (a
later circle covers an earlier one where they overlap). Centres are uniform in
``[0.05, 0.95]^2`` so every circle lies inside the image. A pixel is coloured
when its centre ``((col + 0.5) / 64, (row + 0.5) / 64)`` is within the radius
(row 0 is y = 0). The label is the mean over the three colours of the distance
between that colour's two centres (float32, shape ``(N, 1)``); its mean is
0.9 x 0.5214 = 0.469 and its s.d. about 0.129.
"""

from __future__ import annotations

import numpy as np

SIZE = 64
RADIUS = 0.05
COLOURS = np.array([[255, 0, 0], [255, 0, 0], [0, 0, 255], [0, 0, 255], [0, 255, 0], [0, 255, 0]], dtype=np.uint8)


def sample_centres(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(N, 6, 2)`` circle centres (x, y): red, red, blue, blue, green, green."""
    return rng.uniform(RADIUS, 1 - RADIUS, size=(n, 6, 2))


def pair_distances(centres: np.ndarray) -> np.ndarray:
    """``(N, 3)`` distances between the two red, two blue and two green centres."""
    return np.linalg.norm(centres[:, 0::2] - centres[:, 1::2], axis=-1)


def dots_labels(centres: np.ndarray) -> np.ndarray:
    """``(N, 1)`` float32 labels: mean same-colour centre distance."""
    return pair_distances(centres).mean(axis=1, keepdims=True).astype(np.float32)


def render_dots(centres: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """``(N, 3, 64, 64)`` uint8 images of the circles at ``centres``."""
    grid = (np.arange(SIZE) + 0.5) / SIZE
    out = np.full((len(centres), SIZE, SIZE, 3), 255, dtype=np.uint8)
    for start in range(0, len(centres), chunk):
        block = centres[start : start + chunk]
        view = out[start : start + chunk]
        for k in range(6):
            dx = grid[None, None, :] - block[:, k, 0, None, None]
            dy = grid[None, :, None] - block[:, k, 1, None, None]
            view[dx**2 + dy**2 <= RADIUS**2] = COLOURS[k]
    return out.transpose(0, 3, 1, 2).copy()


def make_dots(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = sample_centres(n, rng)
    return render_dots(centres), dots_labels(centres)
