"""Benjamini-Hochberg false-discovery-rate control (thesis 4.3.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BHResult:
    """Outcome of :func:`benjamini_hochberg`.

    ``critical_p`` is the largest p-value ``p_(k)`` with ``p_(k) <= k alpha / m``,
    or ``None`` when no p-value passes (then nothing is significant; the original
    code returned 1.0 here, which would make everything "significant").
    ``significant[i]`` is ``pvalues[i] <= critical_p``.
    """

    critical_p: float | None
    significant: np.ndarray
    alpha: float
    n_tests: int

    @property
    def any_significant(self) -> bool:
        return self.critical_p is not None

    @property
    def n_significant(self) -> int:
        return int(self.significant.sum())


def benjamini_hochberg(pvalues, alpha: float = 0.05) -> BHResult:
    """Critical p-value and significance of each test at false discovery rate ``alpha``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if np.isnan(p).any() or np.any(p < 0) or np.any(p > 1):
        raise ValueError("p-values must lie in [0, 1] (no NaN)")
    m = p.size
    if m == 0:
        return BHResult(None, np.zeros(0, dtype=bool), alpha, 0)
    ordered = np.sort(p)
    passing = np.nonzero(ordered <= alpha * np.arange(1, m + 1) / m)[0]
    if passing.size == 0:
        return BHResult(None, np.zeros(m, dtype=bool), alpha, m)
    critical = float(ordered[passing[-1]])
    return BHResult(critical, p <= critical, alpha, m)
