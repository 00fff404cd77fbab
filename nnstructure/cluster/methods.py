"""Partition methods: the ways a network's graph can be cut into clusters (issue 21; thesis section 6).

Every method takes the same input, a symmetric non-negative adjacency (dense or
``scipy.sparse``), and returns the same output: one integer label per node,
``0..m-1`` for the nodes with edges and ``-1`` for zero-degree nodes (which no
method can place), so the n-cut, modularity and cluster sizes of
:func:`partition_quality` apply to any of them.

* ``spectral``: the thesis's normalized spectral clustering into ``k`` clusters
  (:func:`nnstructure.cluster.spectral.spectral_clustering`).
* ``leiden``: Leiden (Traag et al. 2019, the ``leidenalg`` package on an
  ``igraph`` graph), maximising modularity at a ``resolution`` (1: plain
  modularity; the RB configuration model) or the constant Potts model
  (``objective: cpm``; its resolution is a density threshold in units of edge
  weight). It finds its own number of communities.
* ``louvain``: Louvain (Blondel et al. 2008, ``networkx.community.louvain_communities``),
  maximising modularity at a ``resolution``; its own number of communities.
* ``infomap``: Infomap (Rosvall & Bergstrom 2008, the ``infomap`` package),
  which minimises the map equation, the description length of a random walk
  on the graph: a flow-based objective, not modularity. Two-level partition;
  its own number of communities. (Chosen over graspologic's degree-corrected
  SBM: ``infomap`` is one self-contained wheel, while graspologic pulls in
  numba and a pinned scientific stack.)

Labels are numbered by decreasing cluster size (ties by the smallest node index
in the cluster), so equal partitions give equal label arrays whatever a
library's internal community order.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

METHODS = ("spectral", "leiden", "louvain", "infomap")
#: Methods that take the number of clusters ``k``; the others find their own number.
FIXED_K_METHODS = ("spectral",)
LEIDEN_OBJECTIVES = ("modularity", "cpm")
#: Each method's settings and their defaults (``k`` and ``seed`` are passed separately).
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "spectral": {"n_init": 25},
    "leiden": {"objective": "modularity", "resolution": 1.0},
    "louvain": {"resolution": 1.0},
    "infomap": {"n_trials": 10},
}


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ``ValueError`` naming them."""
    if method not in METHODS:
        raise ValueError(f"unknown partition method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def method_settings(method: str, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``method``'s settings: its defaults updated with ``settings``, which may only set keys the method takes."""
    check_method(method)
    defaults = METHOD_DEFAULTS[method]
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ValueError(f"partition method {method!r} has no setting {', '.join(unknown)}; "
                         f"it takes {', '.join(defaults) or 'none'}")
    return {**defaults, **settings}


def _symmetric_csr(adjacency) -> sp.csr_matrix:
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {a.shape}")
    if a.nnz and a.data.min() < 0:
        raise ValueError("adjacency has negative weights; partition methods need non-negative edge weights")
    if abs(a - a.T).sum() > 1e-9 * max(1.0, abs(a).sum()):
        raise ValueError("adjacency is not symmetric; partition methods need an undirected graph")
    return a


def _with_isolated(a: sp.csr_matrix, labels_of_kept, keep: np.ndarray) -> np.ndarray:
    labels = np.full(a.shape[0], -1, dtype=np.int64)
    labels[keep] = labels_of_kept
    return canonical_labels(labels)


def _kept_graph(adjacency) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """``(full graph, graph on nodes with edges, mask of those nodes)``."""
    a = _symmetric_csr(adjacency)
    keep = np.asarray(a.sum(axis=1)).ravel() > 0
    sub = a if keep.all() else a[keep][:, keep]
    if sub.shape[0] == 0:
        raise ValueError("the graph has no edges; there is nothing to partition")
    return a, sub.tocsr(), keep


def canonical_labels(labels) -> np.ndarray:
    """Relabel clusters ``0..m-1`` by decreasing size, ties by smallest member; ``-1`` stays ``-1``."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.shape, -1, dtype=np.int64)
    kept = labels >= 0
    if not kept.any():
        return out
    ids, first, counts = np.unique(labels[kept], return_index=True, return_counts=True)
    first_node = np.flatnonzero(kept)[first]
    order = np.lexsort((first_node, -counts))  # by size descending, then first member
    new_id = np.empty(ids.size, dtype=np.int64)
    new_id[order] = np.arange(ids.size)
    out[kept] = new_id[np.searchsorted(ids, labels[kept])]
    return out


def spectral_labels(adjacency, k: int, seed: int = 0, n_init: int | str = 25) -> np.ndarray:
    """The thesis's normalized spectral clustering into ``k`` clusters (zero-degree nodes: ``-1``)."""
    from nnstructure.cluster.spectral import spectral_clustering

    a = _symmetric_csr(adjacency)
    return canonical_labels(spectral_clustering(a, int(k), n_init=n_init, seed=int(seed)))


def _igraph(sub: sp.csr_matrix):
    import igraph

    upper = sp.triu(sub, k=1).tocoo()
    graph = igraph.Graph(n=sub.shape[0], edges=np.column_stack([upper.row, upper.col]).tolist(), directed=False)
    graph.es["weight"] = upper.data.tolist()
    return graph


def leiden_labels(adjacency, seed: int = 0, objective: str = "modularity", resolution: float = 1.0) -> np.ndarray:
    """Leiden communities maximising modularity (at ``resolution``) or CPM (``objective="cpm"``)."""
    if objective not in LEIDEN_OBJECTIVES:
        raise ValueError(f"leiden objective must be one of {', '.join(LEIDEN_OBJECTIVES)}, got {objective!r}")
    if not float(resolution) > 0:
        raise ValueError(f"leiden resolution must be positive, got {resolution}")
    import leidenalg

    a, sub, keep = _kept_graph(adjacency)
    kind = leidenalg.RBConfigurationVertexPartition if objective == "modularity" else leidenalg.CPMVertexPartition
    part = leidenalg.find_partition(_igraph(sub), kind, weights="weight", resolution_parameter=float(resolution),
                                    n_iterations=-1, seed=int(seed))
    return _with_isolated(a, np.asarray(part.membership, dtype=np.int64), keep)


def louvain_labels(adjacency, seed: int = 0, resolution: float = 1.0) -> np.ndarray:
    """Louvain communities maximising modularity at ``resolution`` (networkx)."""
    if not float(resolution) > 0:
        raise ValueError(f"louvain resolution must be positive, got {resolution}")
    import networkx as nx

    a, sub, keep = _kept_graph(adjacency)
    graph = nx.from_scipy_sparse_array(sp.triu(sub, k=1), edge_attribute="weight")
    communities = nx.community.louvain_communities(graph, weight="weight", resolution=float(resolution), seed=int(seed))
    labels = np.empty(sub.shape[0], dtype=np.int64)
    for c, members in enumerate(communities):
        labels[list(members)] = c
    return _with_isolated(a, labels, keep)


def infomap_labels(adjacency, seed: int = 0, n_trials: int = 10) -> np.ndarray:
    """Infomap's two-level partition (map equation) of the undirected weighted graph."""
    if int(n_trials) < 1:
        raise ValueError(f"infomap n_trials must be at least 1, got {n_trials}")
    from infomap import Infomap

    a, sub, keep = _kept_graph(adjacency)
    upper = sp.triu(sub, k=1).tocoo()
    # Infomap seeds must be positive; --silent: no console output.
    im = Infomap(two_level=True, silent=True, seed=int(seed) + 1, num_trials=int(n_trials))
    im.add_nodes(range(sub.shape[0]))
    im.add_links(zip(upper.row.tolist(), upper.col.tolist(), upper.data.tolist()))
    modules = im.run().modules()  # node id -> module id
    labels = np.array([modules[i] for i in range(sub.shape[0])], dtype=np.int64)
    return _with_isolated(a, labels, keep)


def partition_labels(adjacency, method: str, k: int | None = None, seed: int = 0,
                     settings: Mapping[str, Any] | None = None) -> np.ndarray:
    """Labels of ``adjacency``'s nodes by ``method`` (one of :data:`METHODS`) with its ``settings``.

    ``k`` is the number of clusters of the fixed-k methods (:data:`FIXED_K_METHODS`) and must then be given;
    the others find their own number and ignore it.
    """
    s = method_settings(method, settings)
    if method == "spectral":
        if k is None:
            raise ValueError("the spectral method needs the number of clusters k (an integer, or choose it with k: auto)")
        return spectral_labels(adjacency, int(k), seed, s["n_init"])
    if method == "leiden":
        return leiden_labels(adjacency, seed, s["objective"], s["resolution"])
    if method == "louvain":
        return louvain_labels(adjacency, seed, s["resolution"])
    return infomap_labels(adjacency, seed, s["n_trials"])


def modularity(adjacency, labels, resolution: float = 1.0) -> float:
    """Newman's modularity ``sum_c [W_c / 2m - resolution (vol_c / 2m)^2]`` of a partition (``-1`` nodes left out).

    ``W_c`` is the weight of edges inside cluster ``c`` counted both ways (``vol_c - cut_c``), ``2m`` the
    total volume of the graph.
    """
    from nnstructure.cluster.ncut import cluster_cut_and_volume

    cut, vol = cluster_cut_and_volume(adjacency, labels)
    total = vol.sum()
    if total <= 0:
        raise ValueError("the partitioned nodes have no edges; modularity is undefined")
    return float(np.sum((vol - cut) / total - resolution * (vol / total) ** 2))


def cluster_size_stats(labels) -> dict:
    """``n_clusters, size_min, size_median, size_max, largest_fraction, n_singletons, n_unlabelled``."""
    labels = np.asarray(labels, dtype=np.int64)
    kept = labels[labels >= 0]
    sizes = np.bincount(kept) if kept.size else np.zeros(0, dtype=np.int64)
    sizes = sizes[sizes > 0]
    if sizes.size == 0:
        raise ValueError("no node has a cluster label")
    return {
        "n_clusters": int(sizes.size), "size_min": int(sizes.min()), "size_median": float(np.median(sizes)),
        "size_max": int(sizes.max()), "largest_fraction": float(sizes.max() / kept.size),
        "n_singletons": int((sizes == 1).sum()), "n_unlabelled": int((labels < 0).sum()),
    }


def partition_quality(adjacency, labels) -> dict:
    """The n-cut, modularity and cluster-size statistics of any partition of ``adjacency``."""
    from nnstructure.cluster.ncut import ncut

    return {"ncut": ncut(adjacency, labels), "modularity": modularity(adjacency, labels), **cluster_size_stats(labels)}
