"""Effect measures: how a typical true subcluster compares with its random ones (4.3.2), in two definitions.

``thesis-text`` (:func:`effect_against_random_mean`), the thesis's words:

For a true value ``x`` and the mean ``mu`` of its random subclusters' values the
effect is ``2 x / (x + mu)``, in ``[0, 2]``: above 1 the true subcluster scores
higher than random on average. Negative values (an accuracy *gain* from a
lesion) are replaced by 0 (thesis footnote 8), for ``x`` and for ``mu``, so the
ratio stays in ``[0, 2]``. When ``x = mu = 0`` the true and random subclusters
do not differ and the effect is 1 (the original code wrote 0 there). Infinite
values (a normalised class range whose mean class drop is 0) follow the limits:
``x = inf`` gives 2, ``mu = inf`` gives 0, both give 1.

``original-code`` (:func:`effect_mean_over_random_pairs`), what the original
code computes (``evaluate_visualizations`` in ``src/lucid.py``): for a true
subcluster with ``x > 0``, the mean over its random subclusters ``r_j`` of
``2 x / (x + r_j)`` (the code stores ``x / (x + r_j)``, half of it); a true
subcluster with ``x <= 0`` is dropped (its value here is NaN, and it counts in
no effect measure). Negative random values are replaced by 0 as in the other
definition (footnote 8), so each ratio stays in ``[0, 2]``; the original code
does not clip them, which changes nothing where no random value is negative
(the softmax entropy never is). Infinite values follow the same limits pairwise.
Its null value is 1 whatever the distribution of the values, while the null
value of ``2 x / (x + mu)`` falls below 1 when the values are heavy-tailed
(FIDELITY.md, chapter 4's softmax-entropy row).

The reported effect measure is the mean over subclusters (pooled over
replicate networks; dropped subclusters left out) with its standard error
``std(ddof=1) / sqrt(n)``, as the original code's ``scipy.stats.sem``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EffectMeasure:
    effect: float
    se: float
    n_subclusters: int


#: The effect definitions (``specialization.effect_definition``); the first is the default.
EFFECT_DEFINITIONS = ("thesis-text", "original-code")


def _checked(true_values, random_values) -> tuple[np.ndarray, np.ndarray]:
    x = np.atleast_1d(np.asarray(true_values, dtype=np.float64))
    rand = np.asarray(random_values, dtype=np.float64)
    if rand.ndim == 1:
        rand = rand[None, :]
    if rand.shape[0] != x.shape[0]:
        raise ValueError(f"random_values must have one row per true value: {rand.shape} vs {x.shape}")
    if np.isnan(x).any() or np.isnan(rand).any():
        raise ValueError("effect values got NaN metric values")
    return x, rand


def _ratio(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``2 x / (x + mu)`` of non-negative arrays of one shape, with the limits of the module docstring."""
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


def effect_against_random_mean(true_values, random_values) -> np.ndarray:
    """Per-subcluster ``2x / (x + mu)`` (``thesis-text``, module docstring); shapes ``(S,)`` and ``(S, n)``."""
    x, rand = _checked(true_values, random_values)
    x = np.maximum(x, 0.0)
    with np.errstate(invalid="ignore"):
        mu = np.maximum(rand.mean(axis=1), 0.0)
    mu = np.where(np.isnan(mu), np.inf, mu)  # inf - inf among random values: treat as unbounded
    return _ratio(x, mu)


def effect_mean_over_random_pairs(true_values, random_values) -> np.ndarray:
    """Per-subcluster mean over random subclusters of ``2x / (x + r_j)``, NaN where ``x <= 0`` (``original-code``,
    module docstring); shapes ``(S,)`` and ``(S, n)``."""
    x, rand = _checked(true_values, random_values)
    rand = np.maximum(rand, 0.0)
    kept = x > 0
    out = np.full(x.shape, np.nan)
    if kept.any():
        xs = np.broadcast_to(x[kept, None], rand[kept].shape).copy()
        out[kept] = _ratio(xs, rand[kept].copy()).mean(axis=1)
    return out


_DEFINITIONS = {"thesis-text": effect_against_random_mean, "original-code": effect_mean_over_random_pairs}


def effect_values(true_values, random_values, definition: str = "thesis-text") -> np.ndarray:
    """Per-subcluster effect values in ``definition`` (one of :data:`EFFECT_DEFINITIONS`); NaN for a dropped one."""
    if definition not in _DEFINITIONS:
        raise ValueError(f"effect definition must be one of {', '.join(EFFECT_DEFINITIONS)}; got {definition!r}")
    return _DEFINITIONS[definition](true_values, random_values)


def effect_measure(true_values, random_values, definition: str = "thesis-text") -> EffectMeasure:
    """Mean effect over subclusters (dropped ones left out) and its standard error."""
    values = effect_values(true_values, random_values, definition)
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        raise ValueError("effect_measure needs at least one subcluster (none left after dropping those with x <= 0)")
    se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return EffectMeasure(float(values.mean()), se, int(n))
