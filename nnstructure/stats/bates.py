"""The Bates distribution: the mean of ``n`` independent uniform(0, 1) variables.

The thesis combines the p-values of ``n`` identically configured replicates by
passing their mean through the Bates(n) CDF (4.3.2, footnote 6):

    F_n(x) = 1/n! * sum_{k=0}^{floor(n x)} (-1)^k C(n, k) (n x - k)^n

(the Irwin-Hall CDF at ``n x``; the thesis prints the exponent as ``n - 1``,
which is the density's). Every term up to ``k = floor(n x)`` is summed: the
original code's ``bates_test`` stops at ``floor(n x) - 1``. The alternating sum
cancels badly in floating point for larger ``n``, so it is evaluated exactly in
rational arithmetic.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def bates_cdf(x, n: int):
    """``P(mean of n uniforms <= x)``; ``x`` a scalar or array, ``n >= 1``."""
    n = int(n)
    if n < 1:
        raise ValueError(f"bates_cdf needs n >= 1, got {n}")
    arr = np.asarray(x, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError("bates_cdf got NaN")
    out = np.array([_bates_cdf_scalar(float(v), n) for v in arr.ravel()]).reshape(arr.shape)
    return float(out) if arr.ndim == 0 else out


def _bates_cdf_scalar(x: float, n: int) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    t = Fraction(x) * n
    total = Fraction(0)
    for k in range(math.floor(t) + 1):
        total += (-1) ** k * math.comb(n, k) * (t - k) ** n
    return float(total / math.factorial(n))
