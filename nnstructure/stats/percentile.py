"""Centred percentile of a true subcluster's metric among its random subclusters (thesis 4.3.2).

The metric is oriented so that a *low* percentile means "more specialised than
random": for metrics where high values indicate specialisation (accuracy drop,
class range, visualisation score) the rank counts random values above the true
one; for the others (softmax entropy) random values below it. With ``r`` such
random values out of ``n``, the percentile is ``(r + 1) / (n + 1)`` shifted down
by half a step, i.e. ``(r + 0.5) / (n + 1)``; under the null hypothesis these
are a granular, centred stand-in for uniform p-values.

Ties: the original code (``compute_pvalue`` in ``src/utils.py`` of
github.com/thestephencasper/local_specialization) counts only *strictly* more
specialised random values, so a tie ranks the true subcluster as the more
specialised one (``ties="strict"``). ``ties="mid"`` counts each tie as half,
which keeps the percentile centred under the null even when values tie (as
accuracy drops of small lesions often do). The thesis text does not say.
"""

from __future__ import annotations

import numpy as np

TIE_RULES = ("strict", "mid")


def percentile(true_values, random_values, higher_is_specialised: bool, ties: str = "strict") -> np.ndarray:
    """Centred percentiles ``(r + 0.5) / (n + 1)`` of each true value among its random ones.

    ``true_values`` has shape ``(S,)`` (or is a scalar), ``random_values``
    ``(S, n)`` (or ``(n,)``). ``r`` counts the random values that are more
    specialised than the true one: greater when ``higher_is_specialised``,
    smaller otherwise. NaN values are not allowed (they cannot be ranked).
    """
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    true = np.asarray(true_values, dtype=np.float64)
    rand = np.asarray(random_values, dtype=np.float64)
    scalar = true.ndim == 0
    true = np.atleast_1d(true)
    if rand.ndim == 1:
        rand = rand[None, :]
    if rand.ndim != 2 or rand.shape[0] != true.shape[0]:
        raise ValueError(f"random_values must have shape (n_true, n_random) = ({true.shape[0]}, n); got {rand.shape}")
    if rand.shape[1] < 1:
        raise ValueError("need at least one random value per true value")
    if np.isnan(true).any() or np.isnan(rand).any():
        raise ValueError("percentile got NaN metric values; they cannot be ranked")
    if higher_is_specialised:
        better = rand > true[:, None]
    else:
        better = rand < true[:, None]
    r = better.sum(axis=1).astype(np.float64)
    if ties == "mid":
        r += 0.5 * (rand == true[:, None]).sum(axis=1)
    out = (r + 0.5) / (rand.shape[1] + 1)
    return out[0] if scalar else out
