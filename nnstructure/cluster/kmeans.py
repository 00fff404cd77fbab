"""scikit-learn's k-means (k-means++ starts, Lloyd, best of ``n_init``) with all k-means++ seedings vectorised.

``sklearn.cluster.k_means(X, k, n_init=..., random_state=rs)`` runs its starts
one after another; on a spectral embedding (a few thousand points in ``k``
dimensions) most of its time is the Python-level greedy k-means++ seeding. Here
the seeding of all starts runs at once in NumPy with *exactly the uniforms
sklearn draws, in the same order* (one for the first centre, then
``2 + int(log k)`` local trials per further centre, start after start), and each
start then goes through scikit-learn's own Cython Lloyd routine
(``_kmeans_single_lloyd``, which also relocates empty clusters) with the same
tolerance (``1e-4 * mean(var(X))``) and iteration cap (300). The best start is
chosen as ``KMeans.fit`` does (first of lowest inertia, ignoring a lower
inertia that is the same clustering). Lloyd runs on one OpenMP thread: a
clustering is one process's work, and graphs are spread over processes
(:mod:`nnstructure.cluster.parallel`). Should that private routine move in a
future scikit-learn, the public ``k_means`` is used instead. The tests check the
labels equal ``sklearn.cluster.k_means``'s.
"""

from __future__ import annotations

import numpy as np

MAX_ITER = 300
TOL = 1e-4
# Largest (starts x local trials x points) distance array built at once; more starts run in groups.
BATCH_ELEMENTS = 2_000_000


def kmeans_fast(X: np.ndarray, k: int, n_init: int, random_state: np.random.RandomState) -> np.ndarray:
    """Labels of ``sklearn.cluster.k_means(X, k, n_init=n_init, random_state=random_state)``."""
    try:
        from sklearn.cluster._kmeans import _is_same_clustering, _kmeans_single_lloyd
    except ImportError:  # private API moved: the public (slower) route gives the same labels
        from sklearn.cluster import k_means

        return k_means(X, k, n_init=n_init, random_state=random_state)[1].astype(np.int64)
    X = np.array(X, dtype=np.float64, order="C")  # copy: centred below
    n = X.shape[0]
    tol = float(np.mean(np.var(X, axis=0)) * TOL)
    X -= X.mean(axis=0)
    x_sq = np.einsum("ij,ij->i", X, X)
    trials = 2 + int(np.log(k))
    draws = random_state.random_sample(n_init * (1 + (k - 1) * trials)).reshape(n_init, -1)
    weights = np.ones(n)
    n_threads = 1  # one clustering per process; parallelism is across graphs (nnstructure.cluster.parallel)
    group = max(1, BATCH_ELEMENTS // max(1, n * trials))  # starts seeded at once
    best_labels, best_inertia = None, None
    for first in range(0, n_init, group):
        for centers in _kmeans_plusplus_all(X, x_sq, k, draws[first : first + group]):
            labels, inertia, _, _ = _kmeans_single_lloyd(X, weights, centers, max_iter=MAX_ITER, tol=tol, n_threads=n_threads)
            if best_inertia is None or (inertia < best_inertia and not _is_same_clustering(labels, best_labels, k)):
                best_labels, best_inertia = labels, inertia
    return best_labels.astype(np.int64)


def _kmeans_plusplus_all(X: np.ndarray, x_sq: np.ndarray, k: int, draws: np.ndarray) -> np.ndarray:
    """Initial centres ``(starts, k, d)`` from each start's row of uniform draws (sklearn's order)."""
    n = X.shape[0]
    n_init = draws.shape[0]
    trials = 2 + int(np.log(k))
    # first centre: RandomState.choice(n, p=uniform weights) = searchsorted(cdf, u, side="right")
    cdf = np.cumsum(np.full(n, 1.0 / n))
    cdf /= cdf[-1]
    first = np.searchsorted(cdf, draws[:, 0], side="right")
    idx = np.empty((n_init, k), dtype=np.int64)
    idx[:, 0] = first
    closest = _sq_dist(X[first], X, x_sq)  # (n_init, n)
    pot = closest.sum(axis=1)
    for c in range(1, k):
        u = draws[:, 1 + (c - 1) * trials : 1 + c * trials] * pot[:, None]
        cums = np.cumsum(closest, axis=1)
        cand = np.stack([np.searchsorted(cums[i], u[i]) for i in range(n_init)])
        np.clip(cand, None, n - 1, out=cand)
        d = np.minimum(closest[:, None, :], _sq_dist(X[cand.ravel()], X, x_sq).reshape(n_init, trials, n))
        pots = d.sum(axis=2)
        b = np.argmin(pots, axis=1)
        rows = np.arange(n_init)
        pot = pots[rows, b]
        closest = d[rows, b]
        idx[:, c] = cand[rows, b]
    return X[idx]


def _sq_dist(A: np.ndarray, X: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    """Squared distances of rows of ``A`` to rows of ``X`` (sklearn's expansion, clipped at 0)."""
    a_sq = np.einsum("ij,ij->i", A, A)
    d = -2.0 * (A @ X.T) + a_sq[:, None] + x_sq[None, :]
    return np.maximum(d, 0, out=d)
