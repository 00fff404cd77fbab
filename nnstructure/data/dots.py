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
WINDOW = 10  # pixels per axis tested around each centre (a disc covers at most 7)
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


def render_dots(centres: np.ndarray, chunk: int = 256) -> np.ndarray:
    """``(N, 3, 64, 64)`` uint8 images of the circles at ``centres``.

    Each circle is tested only on the ``WINDOW x WINDOW`` block of pixels around
    its centre (a radius-0.05 disc spans at most 7 pixel centres per axis), with
    the same float64 test as on the whole grid, so the pixels are those of the
    full-grid rule.
    """
    grid = (np.arange(SIZE) + 0.5) / SIZE
    offsets = np.arange(WINDOW)
    out = np.full((len(centres), 3, SIZE, SIZE), 255, dtype=np.uint8)
    for start in range(0, len(centres), chunk):
        block = centres[start : start + chunk]
        view = out[start : start + chunk]
        image = np.arange(len(block))
        for k in range(6):
            first = np.floor((block[:, k] - RADIUS) * SIZE - 0.5).astype(np.int64) - 1
            first = np.clip(first, 0, SIZE - WINDOW)
            cols = first[:, 0, None] + offsets  # (B, WINDOW) pixel columns (x)
            rows = first[:, 1, None] + offsets  # (B, WINDOW) pixel rows (y)
            dx = grid[cols][:, None, :] - block[:, k, 0, None, None]
            dy = grid[rows][:, :, None] - block[:, k, 1, None, None]
            b, r, c = np.nonzero(dx**2 + dy**2 <= RADIUS**2)
            view[image[b], :, rows[b, r], cols[b, c]] = COLOURS[k]
    return out


def make_dots(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = sample_centres(n, rng)
    return render_dots(centres), dots_labels(centres)


# --- Random access: the centres of any image of a seeded sequence, without generating the ones before it.

DRAWS_PER_IMAGE = 12  # 6 centres x (x, y): one 64-bit PCG64 output per uniform double


def centres_at(seed: int, indices) -> np.ndarray:
    """``(len(indices), 6, 2)`` centres of images ``indices`` of the sequence ``sample_centres(n, default_rng(seed))``.

    :func:`sample_centres` draws ``12`` doubles per image in order, one PCG64
    output each, so image ``i`` starts ``12 i`` steps into the stream;
    ``PCG64.advance`` jumps there in O(log i). The result equals rows
    ``indices`` of ``sample_centres(n, np.random.default_rng(seed))`` exactly.
    Contiguous runs are drawn in one call.
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size and indices.min() < 0:
        raise ValueError(f"image indices must be >= 0, got {int(indices.min())}")
    bitgen = np.random.PCG64(np.random.SeedSequence(int(seed)))
    gen = np.random.Generator(bitgen)
    start_state = bitgen.state
    out = np.empty((len(indices), 6, 2))
    pos = 0
    while pos < len(indices):
        end = pos + 1
        while end < len(indices) and indices[end] == indices[end - 1] + 1:
            end += 1
        bitgen.state = start_state
        bitgen.advance(DRAWS_PER_IMAGE * int(indices[pos]))
        out[pos:end] = sample_centres(end - pos, gen)
        pos = end
    return out


# --- The classification task: is the mean same-colour distance below the cut-off?

CLASSIFICATION_FRACTION = 0.0093  # thesis 5.9: the rewarded fraction of CoinRun transitions
SIDE = 1 - 2 * RADIUS  # centres are uniform in a square of this width


def _unit_square_distance_density() -> np.ndarray:
    """Coefficients (lowest degree first) of the density of the distance between two uniform
    points of the unit square, ``2 d (pi - 4 d + d^2)``, valid for ``d <= 1``."""
    return np.array([0.0, 2 * np.pi, -8.0, 2.0])


def _convolve_on_simplex(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Coefficients of ``t -> int_0^t g(a) h(t - a) da`` for polynomials ``g``, ``h`` (lowest degree first)."""
    from math import factorial

    out = np.zeros(len(g) + len(h))
    for k, gk in enumerate(g):
        for j, hj in enumerate(h):
            out[k + j + 1] += gk * hj * factorial(k) * factorial(j) / factorial(k + j + 1)
    return out


def mean_distance_cdf(m: float) -> float:
    """``P(label < m)`` for the mean same-colour distance, exact for ``m <= SIDE / 3`` (0.3).

    Each distance is ``SIDE`` times the distance ``d`` of two uniform points of
    the unit square, whose density for ``d <= 1`` is the polynomial
    ``2 d (pi - 4 d + d^2)``. While the sum of the three unit distances is at
    most 1 every summand is in that range, so the sum's distribution function
    is a polynomial (two convolutions and one integration).
    """
    t = 3 * float(m) / SIDE
    if t <= 0:
        return 0.0
    if t > 1:
        raise ValueError(f"the closed form holds for mean distances up to {SIDE / 3:.3f}, got {m}")
    f = _unit_square_distance_density()
    density_of_sum = _convolve_on_simplex(_convolve_on_simplex(f, f), f)
    cdf = np.concatenate([[0.0], density_of_sum / np.arange(1, len(density_of_sum) + 1)])
    return float(np.polynomial.polynomial.polyval(t, cdf))


def classification_cutoff(fraction: float = CLASSIFICATION_FRACTION) -> float:
    """The mean distance below which a ``fraction`` of images fall (0.1862 for the thesis's 0.93%)."""
    from scipy.optimize import brentq

    if not 0 < fraction < mean_distance_cdf(SIDE / 3):
        raise ValueError(f"fraction must be in (0, {mean_distance_cdf(SIDE / 3):.3f}) for the closed-form cut-off, got {fraction}")
    return float(brentq(lambda m: mean_distance_cdf(m) - fraction, 0.0, SIDE / 3, xtol=1e-12))


def dots_class_labels(centres: np.ndarray, cutoff: float) -> np.ndarray:
    """``(N,)`` int64 classes: 0 where the mean same-colour distance is below ``cutoff`` (the rare
    class, as reward 1 is rare in CoinRun), 1 otherwise."""
    return (dots_labels(centres)[:, 0] >= cutoff).astype(np.int64)
