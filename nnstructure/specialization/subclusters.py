"""Subclusters (cluster ∩ layer) and their random controls (thesis 4.3.1-4.3.2).

A *true subcluster* is the set of units of one hidden layer that share a label.
Only those with more than one unit that do not fill the whole layer are
analysed (so MLP input and output neurons, which are not hidden units, are
never lesioned or visualised). Each gets ``n_random`` (19 in the thesis)
*random subclusters*: sets of the same size drawn without replacement from the
same layer, from

* ``pool="all"``: every unit of the layer (thesis text, and the original code's
  feature visualisation), or
* ``pool="with-edges"``: the units the partition clustered (label >= 0), as the
  original code's lesion experiments did (it shuffled labels among unpruned
  units).

The draws for a subcluster come from a generator seeded with
``derive_seed(seed, "random-subclusters", layer, label)``, so they depend only
on the experiment cell's seed and the subcluster, not on evaluation order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnstructure.graph.activations import UnitLayer
from nnstructure.seeding import derive_seed
from nnstructure.specialization.choices import RANDOM_POOLS

MIN_SUBCLUSTER_SIZE = 2


@dataclass(frozen=True)
class Subcluster:
    """Units ``units`` (sorted indices within the layer) of hidden layer ``layer`` with cluster label ``label``."""

    layer: str
    layer_position: int  # index of the layer among the network's hidden unit layers
    label: int
    units: np.ndarray
    layer_size: int

    @property
    def size(self) -> int:
        return int(self.units.size)


def layer_labels(labels: pd.DataFrame, layers: list[UnitLayer]) -> dict[str, np.ndarray]:
    """Each hidden layer's label array (by unit) from a labels table; checks it fits the network."""
    required = {"layer_name", "unit", "label"}
    if not required.issubset(labels.columns):
        raise ValueError(f"a labels table needs columns {sorted(required)}, got {list(labels.columns)}")
    out = {}
    for layer in layers:
        rows = labels[labels["layer_name"].astype(str) == layer.name]
        if rows.empty:
            raise ValueError(
                f"the labels have no layer {layer.name!r}, a hidden layer of this network; "
                "were they made from another network? (labels layers: "
                f"{sorted(labels['layer_name'].astype(str).unique())})"
            )
        units = rows["unit"].to_numpy()
        if len(rows) != layer.size or not np.array_equal(np.sort(units), np.arange(layer.size)):
            raise ValueError(f"the labels of layer {layer.name!r} cover {len(rows)} units but the layer has {layer.size}")
        arr = np.empty(layer.size, dtype=np.int64)
        arr[units] = rows["label"].to_numpy()
        out[layer.name] = arr
    return out


def true_subclusters(labels: pd.DataFrame, layers: list[UnitLayer], min_size: int = MIN_SUBCLUSTER_SIZE) -> list[Subcluster]:
    """Every analysable subcluster: ``min_size <= size < layer size``, in layer then label order."""
    per_layer = layer_labels(labels, layers)
    out = []
    for position, layer in enumerate(layers):
        arr = per_layer[layer.name]
        for label in np.unique(arr[arr >= 0]):
            units = np.nonzero(arr == label)[0]
            if min_size <= units.size < layer.size:
                out.append(Subcluster(layer.name, position, int(label), units, layer.size))
    return out


def random_subclusters(
    subcluster: Subcluster, n_random: int, seed: int, pool: str = "all", labelled_units: np.ndarray | None = None
) -> np.ndarray:
    """``(n_random, size)`` sorted unit indices of random subclusters of ``subcluster``'s size and layer.

    ``pool="with-edges"`` needs ``labelled_units``: the layer's units with a label >= 0.
    """
    if pool not in RANDOM_POOLS:
        raise ValueError(f"random pool must be one of {RANDOM_POOLS}, got {pool!r}")
    if n_random < 1:
        raise ValueError(f"need at least one random subcluster per true one, got n_random={n_random}")
    if pool == "all":
        candidates = np.arange(subcluster.layer_size)
    else:
        if labelled_units is None:
            raise ValueError("pool='with-edges' needs the layer's labelled units")
        candidates = np.asarray(labelled_units)
    if candidates.size < subcluster.size:
        raise ValueError(f"layer {subcluster.layer!r} has {candidates.size} candidate units, fewer than the subcluster's {subcluster.size}")
    rng = np.random.default_rng(derive_seed(seed, "random-subclusters", subcluster.layer, subcluster.label))
    return np.stack([np.sort(rng.choice(candidates, size=subcluster.size, replace=False)) for _ in range(n_random)])
