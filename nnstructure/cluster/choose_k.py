"""Choosing the number of clusters ``k`` from the graph (issue 21), beside the thesis's fixed k.

The thesis fixes k (12 in chapter 3, 16 in chapter 4). Two data-driven choices:

* :func:`eigengap_k`: the eigengap heuristic (von Luxburg 2007, section 8.3):
  with ``0 = l_1 <= l_2 <= ...`` the eigenvalues of the symmetric normalized
  Laplacian ``I - D^-1/2 A D^-1/2`` (the one spectral clustering embeds with),
  ``k`` is the ``k`` in ``[k_min, k_max]`` with the largest gap ``l_{k+1} - l_k``.
  A graph of ``k`` well-separated blocks has ``k`` eigenvalues near 0 and a
  jump after them.
* :func:`modularity_k`: the number of communities of the modularity-maximising
  partition, found by Leiden at resolution 1
  (:func:`nnstructure.cluster.methods.leiden_labels`).

``k: auto`` (:func:`resolve_k`) is the eigengap choice: it is the heuristic
that belongs to spectral clustering, the method that takes a k.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Largest k the eigengap heuristic considers by default (the thesis's k are 12 and 16).
DEFAULT_K_MAX = 32
K_MIN = 2
#: Below this many nodes the Laplacian's spectrum comes from a dense ``eigh``.
DENSE_MAX_NODES = 3000


def laplacian_spectrum(adjacency, n_eigenvalues: int) -> np.ndarray:
    """The ``n_eigenvalues`` smallest eigenvalues (ascending) of the normalized Laplacian of the nodes with edges."""
    from scipy.sparse.csgraph import laplacian

    a = sp.csr_matrix(adjacency, dtype=np.float64)
    keep = np.asarray(a.sum(axis=1)).ravel() > 0
    a = a[keep][:, keep] if not keep.all() else a
    n = a.shape[0]
    if n < 2:
        raise ValueError(f"the graph has {n} node(s) with edges; choosing k needs at least 2")
    m = min(int(n_eigenvalues), n)
    lap = laplacian(a, normed=True)
    if n <= DENSE_MAX_NODES or m >= n - 1:
        import scipy.linalg

        values = scipy.linalg.eigh(lap.toarray(), eigvals_only=True, subset_by_index=[0, m - 1])
    else:
        from scipy.sparse.linalg import eigsh

        # the largest eigenvalues of 2I - L are 2 - (the smallest of L): no shift-invert factorisation needed
        shifted = sp.identity(n, format="csr") * 2.0 - lap
        top = eigsh(shifted, k=m, which="LA", v0=np.full(n, 1.0 / np.sqrt(n)), return_eigenvectors=False)
        values = 2.0 - np.sort(top)[::-1]
    return np.clip(np.sort(values), 0.0, None)


def eigengap_k(adjacency, k_max: int = DEFAULT_K_MAX, k_min: int = K_MIN) -> tuple[int, np.ndarray]:
    """``(k, eigenvalues)``: the k in ``[k_min, k_max]`` after which the normalized Laplacian's spectrum jumps most."""
    k_min, k_max = int(k_min), int(k_max)
    if k_min < 1 or k_max < k_min:
        raise ValueError(f"the eigengap search needs 1 <= k_min <= k_max, got k_min={k_min}, k_max={k_max}")
    values = laplacian_spectrum(adjacency, k_max + 1)
    k_max = min(k_max, values.size - 1)
    if k_max < k_min:
        raise ValueError(f"the graph has too few nodes with edges ({values.size}) to choose k >= {k_min}")
    gaps = np.diff(values)  # gaps[i] = l_{i+2} - l_{i+1}: the gap after the first i+1 eigenvalues
    candidates = np.arange(k_min, k_max + 1)
    k = int(candidates[np.argmax(gaps[candidates - 1])])
    return k, values


def modularity_k(adjacency, seed: int = 0) -> int:
    """The number of communities of the modularity-maximising (Leiden, resolution 1) partition."""
    from nnstructure.cluster.methods import leiden_labels

    labels = leiden_labels(adjacency, seed=seed)
    return int(labels.max()) + 1


def resolve_k(k, adjacency, k_max: int = DEFAULT_K_MAX) -> int:
    """``k`` as an int: an integer as given (at least 2), or ``"auto"``: the eigengap choice."""
    if isinstance(k, str):
        if k != "auto":
            raise ValueError(f"k must be an integer of at least 2 or 'auto', got {k!r}")
        return eigengap_k(adjacency, k_max)[0]
    if isinstance(k, bool) or int(k) != k or int(k) < 2:
        raise ValueError(f"k must be an integer of at least 2 or 'auto', got {k!r}")
    return int(k)


def k_choices(adjacency, fixed_k: int | None = None, k_max: int = DEFAULT_K_MAX, seed: int = 0) -> dict:
    """The eigengap k and the modularity-optimal k of a graph, beside the ``fixed_k`` given (the thesis's)."""
    k_gap, values = eigengap_k(adjacency, k_max)
    return {"k_fixed": None if fixed_k is None else int(fixed_k), "k_eigengap": k_gap,
            "eigengap": float(values[k_gap] - values[k_gap - 1]), "k_modularity": modularity_k(adjacency, seed)}
