"""Cluster one network graph: node labels plus the summary the workflow stores with them."""

from __future__ import annotations

import numpy as np

from nnstructure.graph.blocks import BlockGraph


def cluster_graph(graph: BlockGraph, k: int, n_init: int | str = 25, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Spectral clustering of ``graph`` into ``k`` clusters.

    Returns the label of every node (``-1`` for zero-degree nodes) and the
    summary ``{ncut, n_nodes, k, n_init, seed}`` (``n_nodes`` counts the
    clustered nodes; ``n_init`` is resolved when given as ``"auto"``).
    """
    from nnstructure.cluster.ncut import ncut
    from nnstructure.cluster.parallel import single_threaded
    from nnstructure.cluster.spectral import resolve_n_init, spectral_clustering

    with single_threaded():
        labels = spectral_clustering(graph, k, n_init, seed)
        cut = ncut(graph, labels)
    n_nodes = int((labels >= 0).sum())
    summary = {"ncut": cut, "n_nodes": n_nodes, "k": int(k),
               "n_init": resolve_n_init(n_init, n_nodes), "seed": int(seed)}
    return labels, summary
