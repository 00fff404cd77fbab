"""The normalized cut of a partition (Shi & Malik), thesis section 3.2.1."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def cluster_cut_and_volume(adjacency, labels) -> tuple[np.ndarray, np.ndarray]:
    """``(cut, vol)`` per cluster id ``0..max(label)``: ``W(X_i, complement)`` and ``vol(X_i)``.

    Nodes labelled ``-1`` are removed from the graph first.
    """
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
