"""What a probe predicts: functions of the agent-to-goal distance (thesis 5.7.1) and the dots distances (5.9).

CoinRun's coin is often off screen, so each function of the distance is capped
at the largest value it can take while the coin is still visible: distance
18.4, squared distance 338.0; the inverse and inverse squared distance are
capped at 5.0 against overflow. The x and y components (Heist) are the signed
goal-minus-agent offsets, uncapped. Filtered probes use only transitions where
the coin is visible (raw distance below 6).

Targets are computed from the raw distance column when the table has it
(``distance_raw``), otherwise from the stored (already capped) column; the cap
is applied either way, so both give the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

COIN_VISIBLE_DISTANCE = 6.0


@dataclass(frozen=True)
class ProbeTarget:
    """One probed quantity: its output columns in a feature cache and how to compute them from a table."""

    name: str
    label: str
    columns: tuple[str, ...]
    cap: float | None = None
    from_raw: Callable[[np.ndarray], np.ndarray] | None = None


def _inverse(d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1.0 / d


def _inverse_sq(d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        return 1.0 / (d * d)


TARGETS: dict[str, ProbeTarget] = {
    t.name: t
    for t in (
        ProbeTarget("distance", "Distance", ("distance",), 18.4, lambda d: d),
        ProbeTarget("distance_sq", "Squared distance", ("distance_sq",), 338.0, lambda d: d * d),
        ProbeTarget("inv_distance", "Inverse distance", ("inv_distance",), 5.0, _inverse),
        ProbeTarget("inv_distance_sq", "Inverse squared distance", ("inv_distance_sq",), 5.0, _inverse_sq),
        ProbeTarget("dx", "x-distance", ("dx",)),
        ProbeTarget("dy", "y-distance", ("dy",)),
        ProbeTarget("pair_distances", "Vector of distances",
                    ("pair_distance_red", "pair_distance_blue", "pair_distance_green")),
        ProbeTarget("mean_distance", "Mean distance", ("mean_distance",)),
    )
}

ALIASES = {
    "squared": "distance_sq", "squared_distance": "distance_sq",
    "inverse": "inv_distance", "inverse_distance": "inv_distance",
    "inverse_squared": "inv_distance_sq", "inverse_squared_distance": "inv_distance_sq",
    "x": "dx", "y": "dy", "x_distance": "dx", "y_distance": "dy",
    "distances": "pair_distances", "distance_vector": "pair_distances",
}

# Columns of a transition table a feature cache keeps so every target (and the filter) can be computed.
TRANSITION_COLUMNS = ("distance_raw", "distance", "distance_sq", "inv_distance", "inv_distance_sq", "dx", "dy", "coin_visible")


def get_target(name: str) -> ProbeTarget:
    key = ALIASES.get(name, name)
    if key not in TARGETS:
        raise ValueError(f"unknown probe target {name!r}; choose one of {', '.join(TARGETS)} "
                         f"(aliases: {', '.join(sorted(ALIASES))})")
    return TARGETS[key]


def target_values(table, name: str) -> np.ndarray:
    """``[N, T]`` float64 values of target ``name`` for every row of ``table`` (a DataFrame), caps applied."""
    target = get_target(name)
    if target.from_raw is not None and "distance_raw" in table.columns:
        values = target.from_raw(table["distance_raw"].to_numpy(np.float64))[:, None]
    else:
        missing = [c for c in target.columns if c not in table.columns]
        if missing:
            raise ValueError(f"target {target.name!r} needs column(s) {missing}, which this table lacks "
                             f"(it has {list(table.columns)}); probe a dataset that records them")
        values = table[list(target.columns)].to_numpy(np.float64)
    if target.cap is not None:
        values = np.minimum(values, target.cap)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"target {target.name!r} has non-finite values; check the dataset's distance columns")
    return values


def coin_visible_mask(table) -> np.ndarray:
    """Rows where the goal is visible (raw distance < 6): the subset filtered probes use."""
    if "distance_raw" in table.columns:
        return table["distance_raw"].to_numpy(np.float64) < COIN_VISIBLE_DISTANCE
    if "coin_visible" in table.columns:
        return table["coin_visible"].to_numpy(bool)
    raise ValueError("filtered probes need a 'distance_raw' or 'coin_visible' column; this dataset has neither")
