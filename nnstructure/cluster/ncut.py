"""The normalized cut of a partition (Shi & Malik), thesis section 3.2.1."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnstructure.graph.blocks import BlockGraph


def cluster_cut_and_volume(adjacency, labels) -> tuple[np.ndarray, np.ndarray]:
    """``(cut, vol)`` per cluster id ``0..max(label)``: ``W(X_i, complement)`` and ``vol(X_i)``.

    Nodes labelled ``-1`` are removed from the graph first. ``adjacency`` may be
    a :class:`BlockGraph`, whose blocks are used directly.
    """
    if isinstance(adjacency, BlockGraph):
        return _block_cut_and_volume(adjacency, np.asarray(labels, dtype=np.int64))
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (a.shape[0],):
        raise ValueError(f"{labels.shape[0]} labels for a graph of {a.shape[0]} nodes")
    keep = labels >= 0
    if not keep.all():
        a = a[keep][:, keep]
        labels = labels[keep]
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    onehot = sp.csr_matrix((np.ones(labels.size), (np.arange(labels.size), labels)), shape=(labels.size, n_clusters))
    between = (onehot.T @ a @ onehot).toarray()  # between[i, j] = W(X_i, X_j)
    vol = between.sum(axis=1)
    return vol - np.diag(between), vol


def ncut(adjacency, labels) -> float:
    """``sum_i W(X_i, complement of X_i) / vol(X_i)`` over the non-empty clusters.

    Nodes labelled ``-1`` (zero-degree nodes left out of clustering) are ignored,
    so this is the n-cut of the graph that was clustered.
    """
    cut, vol = cluster_cut_and_volume(adjacency, labels)
    nonempty = vol > 0
    return float(np.sum(cut[nonempty] / vol[nonempty]))


def _block_cut_and_volume(graph: BlockGraph, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cluster_cut_and_volume` summed block by block (each block's edges counted both ways)."""
    if labels.shape != (graph.n_nodes,):
        raise ValueError(f"{labels.shape[0]} labels for a graph of {graph.n_nodes} nodes")
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    off = graph.offsets
    onehot = np.zeros((labels.size, n_clusters))
    clustered = labels >= 0
    onehot[np.flatnonzero(clustered), labels[clustered]] = 1.0  # label -1 rows stay zero
    between = np.zeros((n_clusters, n_clusters))
    for b in graph.blocks:
        part = onehot[off[b.src] : off[b.src + 1]].T @ (b.weights @ onehot[off[b.dst] : off[b.dst + 1]])
        between += part + part.T
    vol = between.sum(axis=1)
    return vol - np.diag(between), vol
