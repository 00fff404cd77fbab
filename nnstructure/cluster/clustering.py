"""Cluster one network graph: node labels plus the summary the workflow stores with them."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from nnstructure.graph.blocks import BlockGraph


def cluster_graph(graph: BlockGraph, k: int | str, n_init: int | str = 25, seed: int = 0, method: str = "spectral",
                  settings: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict]:
    """Partition ``graph`` by ``method`` (the thesis's spectral clustering into ``k`` clusters by default).

    Returns the label of every node (``-1`` for zero-degree nodes) and the summary ``{ncut, n_nodes, k, n_init,
    seed}`` (``n_nodes`` counts the clustered nodes; ``n_init`` is resolved when given as ``"auto"``), plus the
    partition's ``method``, ``modularity`` and cluster-size statistics
    (:func:`nnstructure.cluster.methods.partition_quality`), whatever the method.

    ``k`` may be ``"auto"``: the eigengap choice (:func:`nnstructure.cluster.choose_k.eigengap_k`), recorded as
    ``k`` with ``k_setting: "auto"``. Methods other than spectral (:data:`nnstructure.cluster.methods.METHODS`)
    find their own number of clusters; their ``k`` is that number, their ``method_settings`` are recorded and
    ``n_init`` is ``None``. The spectral path clusters straight from the weight blocks, as before.
    """
    from nnstructure.cluster.methods import FIXED_K_METHODS, check_method, method_settings, partition_labels
    from nnstructure.cluster.ncut import ncut
    from nnstructure.cluster.parallel import single_threaded
    from nnstructure.cluster.spectral import resolve_n_init, spectral_clustering
    from nnstructure.graph.subgraph import drop_isolated_nodes

    check_method(method)
    k_setting = k
    if k == "auto":
        from nnstructure.cluster.choose_k import resolve_k

        k = resolve_k("auto", drop_isolated_nodes(graph)[0].adjacency)
    with single_threaded():
        if method == "spectral":
            labels = spectral_clustering(graph, int(k), n_init, seed)
            used_settings = None
        else:
            used_settings = method_settings(method, settings)
            sub, keep = drop_isolated_nodes(graph)
            labels = np.full(graph.n_nodes, -1, dtype=np.int64)
            labels[keep] = partition_labels(sub.adjacency, method, int(k) if method in FIXED_K_METHODS else None,
                                            seed, used_settings)
        cut = ncut(graph, labels)
    n_nodes = int((labels >= 0).sum())
    quality = partition_stats(graph, labels)
    summary = {"ncut": cut, "n_nodes": n_nodes, "k": int(k), "n_init": resolve_n_init(n_init, n_nodes),
               "seed": int(seed), "method": method, **quality}
    if method != "spectral":
        summary.update(k=quality["n_clusters"], n_init=None, method_settings=used_settings)
    if k_setting == "auto":
        summary["k_setting"] = "auto"
    return labels, summary


def partition_stats(graph, labels) -> dict:
    """The modularity and cluster-size statistics of ``labels`` on ``graph`` (a :class:`BlockGraph`, whose blocks
    are used directly, or an adjacency): :func:`nnstructure.cluster.methods.modularity` and
    :func:`~nnstructure.cluster.methods.cluster_size_stats`."""
    from nnstructure.cluster.methods import cluster_size_stats, modularity

    return {"modularity": modularity(graph, labels), **cluster_size_stats(labels)}
