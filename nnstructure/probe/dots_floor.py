"""How well the thesis's reward-net architecture can do on dots and distances at best (thesis 5.9).

The net is five 3x3 stride-1 convolutions, a spatial mean and a linear head
(:mod:`nnstructure.models.reward`), so its output is an affine function of the
mean, over positions, of features of ``receptive field x receptive field``
pixel windows (11 x 11 for five layers). Two dots act together in the output
only where one window holds pixels of both: their centres at most
``receptive field - 1 + 2 x radius`` pixels apart along each axis (16.4 pixels,
0.256 of the image, for 11 x 11 windows and the radius-0.05 dots). Every other
pair enters as a sum of one term per dot.

:func:`local_net_mse_floor` gives the regression's best test MSE, as a fraction
of mean guessing, over every predictor of that form that is also granted
(``positions="absolute"``) each dot's exact position and the exact distance of
every pair within range. No net of the architecture can do better, so it is a
floor. ``positions="none"`` withholds the positions as well (single-dot terms
are constants). That is the floor of a net that could not tell where a dot
lies; the real net sees the image's edge within 5 pixels of it, so it lies
between the two.

The label is the mean of three independent same-colour pair distances, so its
ratio to mean guessing equals one pair's. For a pair out of range the best sum
``F(p1) + F(p2)`` is fitted by least squares (a 2-D Legendre basis of degree
``degree``) on out-of-range pairs drawn by Monte Carlo.
"""

from __future__ import annotations

import numpy as np

from nnstructure.data.dots import RADIUS, SIZE


def receptive_field(n_convolutions: int = 5, kernel: int = 3) -> int:
    """Pixels per axis that one output position of ``n_convolutions`` stride-1 convolutions sees (11 for the thesis's)."""
    if n_convolutions < 0 or kernel < 1:
        raise ValueError(f"need n_convolutions >= 0 and kernel >= 1, got {n_convolutions}, {kernel}")
    return 1 + n_convolutions * (kernel - 1)


def interaction_range(receptive_field_px: int) -> float:
    """Largest per-axis centre distance (image units) at which two dots can share one window of the receptive field."""
    return (receptive_field_px - 1 + 2 * RADIUS * SIZE) / SIZE


def _legendre_basis(p: np.ndarray, degree: int) -> np.ndarray:
    from numpy.polynomial import legendre

    u = (p - 0.5) / (0.5 - RADIUS)  # centres span [RADIUS, 1 - RADIUS]: map to [-1, 1]
    cols = []
    for i in range(degree + 1):
        li = legendre.legval(u[:, 0], np.eye(degree + 1)[i])
        for j in range(degree + 1 - i):
            cols.append(li * legendre.legval(u[:, 1], np.eye(degree + 1)[j]))
    return np.stack(cols, axis=1)


def local_net_mse_floor(receptive_field_px: int = 11, positions: str = "absolute", n_pairs: int = 400_000,
                        degree: int = 8, seed: int = 0) -> float:
    """Lowest dots-regression test MSE / mean guessing of a spatial-mean net with this receptive field.

    See the module docstring. ``positions``: ``"absolute"`` (a floor for the
    real net) or ``"none"``. Monte Carlo over ``n_pairs`` pairs of centres
    drawn as the dataset draws them.
    """
    if positions not in ("absolute", "none"):
        raise ValueError(f"positions must be 'absolute' or 'none', got {positions!r}")
    if n_pairs < 1000:
        raise ValueError(f"n_pairs must be at least 1000 for a stable estimate, got {n_pairs}")
    rng = np.random.default_rng(seed)
    p1 = rng.uniform(RADIUS, 1 - RADIUS, size=(n_pairs, 2))
    p2 = rng.uniform(RADIUS, 1 - RADIUS, size=(n_pairs, 2))
    d = np.linalg.norm(p1 - p2, axis=1)
    far = np.abs(p1 - p2).max(axis=1) > interaction_range(receptive_field_px)
    pred = d.copy()  # a pair within range: its distance exactly
    if far.any():
        if positions == "absolute":
            basis = _legendre_basis(p1[far], degree) + _legendre_basis(p2[far], degree)
            coef, *_ = np.linalg.lstsq(basis, d[far], rcond=None)
            pred[far] = basis @ coef
        else:
            pred[far] = d[far].mean()
    return float(np.mean((d - pred) ** 2) / d.var())
