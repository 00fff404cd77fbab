"""Polynomial regression (thesis section 3.3.2).

Inputs are ``(x, y)`` with x, y independent standard normals (float32, shape
``(N, 2)``). The 9 monomials are ``x**a * y**b`` for a, b in {0, 1, 2}, with
monomial ``j`` having ``a = j // 3`` and ``b = j % 3``, i.e. in the order
1, y, y^2, x, xy, xy^2, x^2, x^2y, x^2y^2. Target ``i`` (0-511) is the
polynomial whose coefficient of monomial ``j`` is bit ``j`` of ``i``
(``(i >> j) & 1``): target 0 is the zero polynomial, target 1 is the constant
1, target 2 is y, target 3 is 1 + y, ..., target 511 is the sum of all nine.
"""

from __future__ import annotations

import numpy as np

N_MONOMIALS = 9
N_TARGETS = 2**N_MONOMIALS
EXPONENTS = np.array([(j // 3, j % 3) for j in range(N_MONOMIALS)])  # (power of x, power of y)
COEFFICIENTS = ((np.arange(N_TARGETS)[None, :] >> np.arange(N_MONOMIALS)[:, None]) & 1).astype(np.float64)


def monomials(xy: np.ndarray) -> np.ndarray:
    """``(N, 9)`` values of the 9 monomials at each input row ``(x, y)``."""
    xy = np.asarray(xy, dtype=np.float64)
    return xy[:, :1] ** EXPONENTS[:, 0] * xy[:, 1:2] ** EXPONENTS[:, 1]


def polynomial_targets(xy: np.ndarray) -> np.ndarray:
    """``(N, 512)`` float32 targets: every {0,1}-coefficient polynomial evaluated at each input."""
    return (monomials(xy) @ COEFFICIENTS).astype(np.float32)


def make_polynomial(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xy = rng.standard_normal((n, 2)).astype(np.float32)
    return xy, polynomial_targets(xy)
