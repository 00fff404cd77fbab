"""Fisher's method on subcluster percentiles (thesis 4.3.2).

The Fisher statistic of percentiles ``p_1..p_n`` is ``-(1/n) sum log p_i``; for
uniform p-values ``2n`` times it is chi-squared with ``2n`` degrees of freedom,
which gives the network's p-value. With the granular centred percentiles of
:mod:`nnstructure.stats.percentile` and 19 random subclusters the statistic's
null mean is :func:`null_fisher_statistic` (19) = 0.983 (thesis: "0.98").
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def fisher_statistic(percentiles) -> float:
    """``-(1/n) sum log p`` of percentiles in ``(0, 1]``."""
    p = np.asarray(percentiles, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError("fisher_statistic needs at least one percentile")
    if np.any(p <= 0) or np.any(p > 1) or np.isnan(p).any():
        raise ValueError("percentiles must lie in (0, 1]")
    return float(-np.mean(np.log(p)))


def fisher_p_value(statistic: float, n: int) -> float:
    """One-sided p-value of a Fisher statistic over ``n`` percentiles: ``chi2(2n).sf(2n * statistic)``."""
    n = int(n)
    if n < 1:
        raise ValueError(f"fisher_p_value needs n >= 1 percentiles, got {n}")
    return float(stats.chi2.sf(2 * n * float(statistic), df=2 * n))


def null_fisher_statistic(n_random: int) -> float:
    """Expected Fisher statistic when the true value's rank is uniform among ``n_random + 1`` places."""
    ranks = np.arange(n_random + 1)
    return float(-np.mean(np.log((ranks + 0.5) / (n_random + 1))))
