"""Layer-wise clustering (thesis 4.3.1): each layer clustered on its own neighbourhood.

For every layer ``l`` the graph is restricted to ``l`` and its neighbours and
spectrally clustered (chapter 3's :func:`~nnstructure.cluster.spectral_clustering`)
into ``k_l`` clusters, where ``k_l`` is the number of network-wide clusters
present in ``l``; only ``l``'s labels are kept. "Neighbours" (``scope``):

* ``"adjacent"`` (thesis text, and the original code for weight graphs): the
  layers just before and after ``l`` in the graph's layer order, with every
  edge among them (for an activation graph that includes within-layer edges);
* ``"within"`` (the original code for activation graphs,
  ``src/activations.py`` with ``local=True``): ``l`` alone.

Labels are per layer: label 3 of one layer has nothing to do with label 3 of
another. Layers not asked for, and isolated nodes, get ``-1``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nnstructure.cluster.spectral import spectral_clustering
from nnstructure.graph.blocks import BlockGraph
from nnstructure.graph.subgraph import induced_subgraph

LAYER_SCOPES = ("adjacent", "within")


def clusters_per_layer(graph: BlockGraph, network_labels: np.ndarray) -> dict[str, int]:
    """Number of distinct network-wide clusters (labels >= 0) present in each layer."""
    labels = np.asarray(network_labels)
    if labels.shape != (graph.n_nodes,):
        raise ValueError(f"network_labels has shape {labels.shape}, the graph has {graph.n_nodes} nodes")
    off = graph.offsets
    out = {}
    for i, name in enumerate(graph.layer_names):
        layer_labels = labels[off[i]:off[i + 1]]
        out[name] = int(np.unique(layer_labels[layer_labels >= 0]).size)
    return out


def layerwise_clustering(
    graph: BlockGraph,
    network_labels: np.ndarray,
    layers: Sequence[str] | None = None,
    scope: str = "adjacent",
    n_init: int | str = 25,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, int]]:
    """``(labels, k_per_layer)`` of the layer-wise clustering of ``graph``.

    ``network_labels`` is the network-wide clustering of the same graph (it
    fixes each ``k_l``); ``layers`` the layer names to cluster (default: all).
    ``k_per_layer`` holds the ``k_l`` used for each clustered layer.
    """
    if scope not in LAYER_SCOPES:
        raise ValueError(f"scope must be one of {LAYER_SCOPES}, got {scope!r}")
    names = list(graph.layer_names)
    layers = names if layers is None else list(layers)
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise ValueError(f"layers {unknown} are not in the graph (its layers: {names})")
    k_all = clusters_per_layer(graph, network_labels)
    off = graph.offsets
    labels = np.full(graph.n_nodes, -1, dtype=np.int64)
    k_used: dict[str, int] = {}
    for name in layers:
        i = names.index(name)
        k_l = k_all[name]
        k_used[name] = k_l
        if k_l == 0:
            continue  # every node of the layer is isolated
        members = range(max(i - 1, 0), min(i + 2, len(names))) if scope == "adjacent" else range(i, i + 1)
        keep = np.zeros(graph.n_nodes, dtype=bool)
        for j in members:
            keep[off[j]:off[j + 1]] = True
        sub = induced_subgraph(graph, keep)
        if k_l == 1:
            sub_labels = np.where(np.asarray(sub.adjacency.sum(axis=1)).ravel() > 0, 0, -1)
        else:
            try:
                sub_labels = spectral_clustering(sub.adjacency, k_l, n_init=n_init, seed=seed)
            except ValueError as exc:
                raise ValueError(f"layer-wise clustering of layer {name!r} into k={k_l} clusters failed: {exc}") from exc
        sub_off = sub.offsets  # the subgraph keeps every layer (non-members with 0 nodes)
        labels[off[i]:off[i + 1]] = sub_labels[sub_off[i]:sub_off[i + 1]]
    return labels, k_used
