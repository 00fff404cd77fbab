"""Effect measures: how a typical true subcluster compares with the mean of its random ones (4.3.2).

For a true value ``x`` and the mean ``mu`` of its random subclusters' values the
effect is ``2 x / (x + mu)``, in ``[0, 2]``: above 1 the true subcluster scores
higher than random on average. Negative values (an accuracy *gain* from a
lesion) are replaced by 0 (thesis footnote 8), for ``x`` and for ``mu``, so the
ratio stays in ``[0, 2]``. When ``x = mu = 0`` the true and random subclusters
do not differ and the effect is 1 (the original code wrote 0 there). Infinite
values (a normalised class range whose mean class drop is 0) follow the limits:
``x = inf`` gives 2, ``mu = inf`` gives 0, both give 1.

The reported effect measure is the mean over subclusters (pooled over
replicate networks) with its standard error ``std(ddof=1) / sqrt(n)``, as the
original code's ``scipy.stats.sem``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EffectMeasure:
    effect: float
    se: float
    n_subclusters: int


def effect_values(true_values, random_values) -> np.ndarray:
    """Per-subcluster ``2x / (x + mu)`` (see the module docstring); shapes ``(S,)`` and ``(S, n)``."""
    x = np.atleast_1d(np.asarray(true_values, dtype=np.float64))
    rand = np.asarray(random_values, dtype=np.float64)
    if rand.ndim == 1:
        rand = rand[None, :]
    if rand.shape[0] != x.shape[0]:
        raise ValueError(f"random_values must have one row per true value: {rand.shape} vs {x.shape}")
    if np.isnan(x).any() or np.isnan(rand).any():
        raise ValueError("effect_values got NaN metric values")
    x = np.maximum(x, 0.0)
    with np.errstate(invalid="ignore"):
        mu = np.maximum(rand.mean(axis=1), 0.0)
    mu = np.where(np.isnan(mu), np.inf, mu)  # inf - inf among random values: treat as unbounded
    out = np.empty_like(x)
    both_zero = (x == 0) & (mu == 0)
    x_inf, mu_inf = np.isinf(x), np.isinf(mu)
    regular = ~(both_zero | x_inf | mu_inf)
    out[regular] = 2 * x[regular] / (x[regular] + mu[regular])
    out[both_zero] = 1.0
    out[x_inf & ~mu_inf] = 2.0
    out[mu_inf & ~x_inf] = 0.0
    out[x_inf & mu_inf] = 1.0
    return out


def effect_measure(true_values, random_values) -> EffectMeasure:
    """Mean effect over subclusters and its standard error."""
    values = effect_values(true_values, random_values)
    n = values.size
    if n == 0:
        raise ValueError("effect_measure needs at least one subcluster")
    se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return EffectMeasure(float(values.mean()), se, int(n))
