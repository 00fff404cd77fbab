"""The spectral embedding of a bipartite graph from its biadjacency matrix.

A network's weight graph is bipartite whenever edges join only consecutive
layers (an MLP, a plain CNN's channel graph): colour the layers alternately and
every edge joins the two colours. With the nodes ordered by colour the
normalized adjacency is ``N = [[0, M], [M^T, 0]]`` (``M`` the normalized
biadjacency), whose eigenvalues are ``+-sigma_i``, the singular values of ``M``,
with eigenvectors ``[u_i; v_i] / sqrt(2)``. So the ``k`` eigenvectors of ``N``
with the largest eigenvalues, which spectral clustering needs, are the top ``k``
singular triplets of ``M``, found as eigenvectors of the small Gram matrix
``M^T M`` (the smaller colour's side):

* ``M`` dense enough: ``M^T M`` by BLAS, then a dense ``eigh`` of only the top
  ``k`` eigenpairs;
* sparse: ARPACK on ``x -> M^T (M x)``, whose squared spectrum converges in
  fewer Lanczos steps than ``N``'s and on a shorter vector.

It is the same eigenproblem as the general path's, solved exactly (to
round-off): the embedding rows, hence the k-means labels, are those of
:func:`nnstructure.cluster.spectral.spectral_embedding`'s general path. When
``sigma_k`` is (numerically) zero the top ``k`` eigenvectors are not all of this
form and ``None`` is returned, so the caller uses the general path.

:func:`block_biadjacency` builds ``M`` straight from a :class:`BlockGraph`'s
weight blocks (no symmetric sparse adjacency is ever assembled), which is how
relative clusterability clusters its shuffled graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

from nnstructure.graph.blocks import BlockGraph

# A biadjacency with at least this share of nonzero entries (within the blocks that
# have edges) gets the dense BLAS Gram matrix; below it ARPACK on the sparse operator.
DENSE_GRAM_MIN_DENSITY = 0.25
# The dense Gram matrix and its eigh are only used up to this many columns (the smaller side).
DENSE_GRAM_MAX_SIDE = 3000
# sigma_k^2 at or below this (the eigenvalues of M^T M lie in [0, 1]) counts as zero.
ZERO_SIGMA_SQ = 1e-10


@dataclass
class Biadjacency:
    """Normalized biadjacency ``M`` (rows: nodes of one colour, columns: the other) of a bipartite graph.

    ``rows`` and ``cols`` are the node indices (in the graph's node order, after
    dropping zero-degree nodes) of ``M``'s rows and columns; ``degrees`` are the
    weighted degrees of those kept nodes in node order; ``n`` their count.
    """

    matrix: np.ndarray | sp.csr_matrix
    rows: np.ndarray
    cols: np.ndarray
    degrees: np.ndarray
    n: int
    # Dense only: per group of rows, the columns where those rows can be nonzero (for a cheaper Gram matrix).
    row_groups: list[tuple[np.ndarray, np.ndarray]] | None = None


def bipartite_sides(adjacency: sp.csr_matrix) -> np.ndarray | None:
    """A boolean colour per node such that every edge joins the two colours, or ``None`` if not bipartite."""
    a = sp.csr_matrix(adjacency)
    n = a.shape[0]
    if n == 0:
        return None
    n_comp, comp = connected_components(a, directed=False)
    roots = np.unique(comp, return_index=True)[1]
    # One breadth-first search from a virtual node joined to one node of every component.
    link = sp.csr_matrix((np.ones(n_comp), (np.full(n_comp, n), roots)), shape=(n + 1, n + 1))
    grown = sp.bmat([[a, None], [None, sp.csr_matrix((1, 1))]], format="csr") + link + link.T
    _, pred = breadth_first_order(grown, n, directed=False, return_predecessors=True)
    # Depth parity by pointer jumping: parity[i] is the parity of the path from i to its
    # ancestor up[i]; each round doubles how far up[i] reaches, until every node points at
    # its component's root (whose predecessor is the virtual node: marked -1).
    up = pred[:n].astype(np.int64)
    up[up == n] = -1
    parity = (up >= 0).astype(np.int8)
    idx = np.flatnonzero(up >= 0)
    while idx.size:
        anc = up[idx]
        parity[idx] ^= parity[anc]
        up[idx] = up[anc]
        idx = idx[up[idx] >= 0]
    coo = a.tocoo()
    side = parity.astype(bool)
    if np.any(side[coo.row] == side[coo.col]):
        return None
    return side


def adjacency_biadjacency(adjacency: sp.csr_matrix, sides: np.ndarray, deg: np.ndarray) -> Biadjacency:
    """:class:`Biadjacency` of a bipartite graph given as a symmetric CSR matrix (all degrees positive)."""
    n = adjacency.shape[0]
    inv_sqrt = 1.0 / np.sqrt(deg)
    rows, cols = np.flatnonzero(~sides), np.flatnonzero(sides)
    if cols.size > rows.size:
        rows, cols = cols, rows
    m = adjacency[rows][:, cols].tocsr()
    m = sp.csr_matrix(sp.diags(inv_sqrt[rows]) @ m @ sp.diags(inv_sqrt[cols]))
    if _dense_gram(m.nnz, rows.size * cols.size, cols.size):
        m = m.toarray()
    return Biadjacency(m, rows, cols, deg, n)


def layer_colours(graph: BlockGraph) -> np.ndarray | None:
    """0/1 per layer such that every block joins layers of different colours, or ``None`` if none exists."""
    n_layers = len(graph.layer_sizes)
    neighbours: list[set[int]] = [set() for _ in range(n_layers)]
    for b in graph.blocks:
        if b.src == b.dst:
            return None
        neighbours[b.src].add(b.dst)
        neighbours[b.dst].add(b.src)
    colour = np.full(n_layers, -1, dtype=np.int64)
    for start in range(n_layers):
        if colour[start] >= 0:
            continue
        colour[start] = 0
        queue = [start]
        while queue:
            layer = queue.pop()
            for other in neighbours[layer]:
                if colour[other] < 0:
                    colour[other] = 1 - colour[layer]
                    queue.append(other)
                elif colour[other] == colour[layer]:
                    return None
    return colour


def block_biadjacency(graph: BlockGraph) -> tuple[Biadjacency, np.ndarray] | None:
    """``(Biadjacency, kept-node mask)`` built from a graph's blocks, or ``None`` if its layers are not bipartite.

    Zero-degree nodes are left out (the mask says which nodes were kept); the
    Biadjacency's node indices count kept nodes in the graph's node order.
    """
    colours = layer_colours(graph)
    if colours is None:
        return None
    sizes = graph.layer_sizes
    off = graph.offsets
    deg_full = np.zeros(graph.n_nodes)
    for b in graph.blocks:
        deg_full[off[b.src] : off[b.src + 1]] += b.weights.sum(axis=1)
        deg_full[off[b.dst] : off[b.dst + 1]] += b.weights.sum(axis=0)
    keep = deg_full > 0
    masks = [keep[off[i] : off[i + 1]] for i in range(len(sizes))]
    kept_sizes = np.array([int(mk.sum()) for mk in masks])
    kept_off = np.concatenate([[0], np.cumsum(kept_sizes)]).astype(np.int64)
    deg = deg_full[keep]
    inv_sqrt = 1.0 / np.sqrt(deg)
    # rows: the colour with more kept nodes; each side lists its layers' kept nodes in node order
    row_colour = 0 if kept_sizes[colours == 0].sum() >= kept_sizes[colours == 1].sum() else 1
    side_start = {}  # layer -> offset of its nodes within its side
    counts = [0, 0]
    for layer in range(len(sizes)):
        s = 0 if colours[layer] == row_colour else 1
        side_start[layer] = counts[s]
        counts[s] += int(kept_sizes[layer])
    n_rows, n_cols = counts
    layer_nodes = [np.arange(kept_off[i], kept_off[i + 1]) for i in range(len(sizes))]
    rows = np.concatenate([layer_nodes[i] for i in range(len(sizes)) if colours[i] == row_colour] or [np.zeros(0, np.int64)])
    cols = np.concatenate([layer_nodes[i] for i in range(len(sizes)) if colours[i] != row_colour] or [np.zeros(0, np.int64)])
    # each block, kept nodes only, oriented rows x cols
    placed = []
    nnz = entries = 0
    for b in graph.blocks:
        w = b.weights
        if not (masks[b.src].all() and masks[b.dst].all()):
            w = w[masks[b.src]][:, masks[b.dst]]
        r, c = (b.src, b.dst) if colours[b.src] == row_colour else (b.dst, b.src)
        if r != b.src:
            w = w.T
        placed.append((r, c, w))
        nnz += int(np.count_nonzero(w))
        entries += w.size
    n = int(kept_off[-1])
    if _dense_gram(nnz, entries, n_cols):
        m = np.zeros((n_rows, n_cols))
        groups: dict[int, set[int]] = {}
        for r, c, w in placed:
            r0, c0 = side_start[r], side_start[c]
            m[r0 : r0 + w.shape[0], c0 : c0 + w.shape[1]] += w
            groups.setdefault(r, set()).add(c)
        m *= inv_sqrt[rows][:, None]
        m *= inv_sqrt[cols][None, :]
        row_groups = []
        for r, cs in groups.items():
            r0 = side_start[r]
            col_idx = np.concatenate([np.arange(side_start[c], side_start[c] + kept_sizes[c]) for c in sorted(cs)])
            row_groups.append((np.arange(r0, r0 + kept_sizes[r]), np.sort(col_idx)))
        return Biadjacency(m, rows, cols, deg, n, row_groups), keep
    parts_r, parts_c, parts_v = [], [], []
    for r, c, w in placed:
        i, j = np.nonzero(w)
        parts_r.append(i + side_start[r])
        parts_c.append(j + side_start[c])
        parts_v.append(w[i, j])
    ri, ci = np.concatenate(parts_r), np.concatenate(parts_c)
    vals = np.concatenate(parts_v) * inv_sqrt[rows[ri]] * inv_sqrt[cols[ci]]
    m = sp.csr_matrix((vals, (ri, ci)), shape=(n_rows, n_cols))  # parallel blocks' entries are summed
    return Biadjacency(m, rows, cols, deg, n), keep


def _dense_gram(nnz: int, entries: int, side: int) -> bool:
    return side <= DENSE_GRAM_MAX_SIDE and (side <= 400 or nnz >= DENSE_GRAM_MIN_DENSITY * max(entries, 1))


def bipartite_eigenvectors(b: Biadjacency, k: int, v0: np.ndarray) -> np.ndarray | None:
    """The ``k`` top eigenvectors (columns, descending eigenvalue) of the normalized adjacency, in node order.

    ``None`` when they cannot all be taken from ``M``'s singular vectors (fewer
    than ``k`` nonzero singular values) or the solver fails: use the general path.
    """
    m = b.matrix
    n_cols = b.cols.size
    if n_cols <= k:
        return None
    if isinstance(m, np.ndarray):
        found = _dense_top_gram(m, k, b.row_groups)
    else:
        found = _sparse_top_gram(m, k, v0[:n_cols])
        if found is None and n_cols <= DENSE_GRAM_MAX_SIDE:
            found = _dense_top_gram(m.toarray(), k, None)
    if found is None:
        return None
    sigma_sq, v = found  # ascending
    if sigma_sq[0] <= ZERO_SIGMA_SQ:
        return None
    sigma = np.sqrt(sigma_sq)
    u = (m @ v) / sigma
    out = np.empty((b.n, k))
    out[b.rows] = u
    out[b.cols] = v
    out *= np.sqrt(0.5)
    return out[:, ::-1]


def _dense_top_gram(m: np.ndarray, k: int, row_groups) -> tuple[np.ndarray, np.ndarray]:
    import scipy.linalg
    from scipy.linalg.blas import dsyrk

    n_cols = m.shape[1]
    if row_groups:
        gram = np.zeros((n_cols, n_cols))
        for rows, cols in row_groups:
            gram[np.ix_(cols, cols)] += dsyrk(1.0, np.ascontiguousarray(m[rows][:, cols]), trans=1)  # upper triangle
    else:
        gram = dsyrk(1.0, np.ascontiguousarray(m), trans=1)
    return scipy.linalg.eigh(gram, lower=False, subset_by_index=[n_cols - k, n_cols - 1],
                             overwrite_a=True, check_finite=False)


def _sparse_top_gram(m: sp.csr_matrix, k: int, v0: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    n_cols = m.shape[1]
    mt = m.T.tocsr()
    op = LinearOperator((n_cols, n_cols), matvec=lambda x: mt @ (m @ x), dtype=np.float64)
    try:
        # ncv = 4k Lanczos vectors, as the general path
        return eigsh(op, k=k, which="LA", v0=v0, tol=0, ncv=min(n_cols - 1, max(4 * k, 20)))
    except (ArpackNoConvergence, ArpackError):
        return None
