"""The bipartite (biadjacency Gram) path of spectral clustering, block-wise n-cuts and the process pool."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import SpectralClustering

from nnstructure.cluster import ncut, shuffle_layer_weights, spectral_clustering, spectral_embedding
from nnstructure.cluster.bipartite import bipartite_sides, block_biadjacency, layer_colours
from nnstructure.cluster.parallel import process_map
from nnstructure.cluster.spectral import _finish_embedding, _top_eigenvectors, as_csr, degrees
from nnstructure.graph import Block, BlockGraph


def _layered(sizes, density, seed, extra_blocks=()):
    """A layered graph with random |weights| between consecutive layers, ``density`` of them nonzero."""
    rng = np.random.default_rng(seed)
    blocks = []
    for i, (a, b) in enumerate(list(zip(sizes[:-1], sizes[1:]))):
        w = rng.exponential(1.0, (a, b)) * (rng.random((a, b)) < density)
        blocks.append(Block(i, i + 1, w))
    for src, dst in extra_blocks:
        blocks.append(Block(src, dst, rng.exponential(1.0, (sizes[src], sizes[dst])) * (rng.random((sizes[src], sizes[dst])) < density)))
    return BlockGraph([f"l{i}" for i in range(len(sizes))], list(sizes), blocks)


def _general_embedding(adjacency, k, seed):
    """The general path's embedding (ARPACK / dense eigh of D^-1/2 A D^-1/2) with the same start vector."""
    a = as_csr(adjacency)
    deg = degrees(a)
    v0 = np.random.RandomState(seed).uniform(-1, 1, a.shape[0])
    return _finish_embedding(_top_eigenvectors(a, deg, k, v0), deg)


def test_bipartite_sides_colour_layers_and_reject_odd_cycles():
    g = _layered([5, 4, 6, 3], 1.0, seed=0)
    sides = bipartite_sides(g.adjacency)
    assert sides is not None
    layer_side = [set(sides[g.layer == i]) for i in range(4)]
    assert all(len(s) == 1 for s in layer_side)  # a whole layer gets one colour
    assert layer_side[0] == layer_side[2] != layer_side[1] == layer_side[3]
    triangle = np.ones((3, 3)) - np.eye(3)
    assert bipartite_sides(triangle) is None
    # two components, each bipartite: still bipartite
    two = sp.block_diag([g.adjacency, sp.csr_matrix(np.array([[0, 1.0], [1.0, 0]]))]).tocsr()
    assert bipartite_sides(two) is not None
    assert layer_colours(_layered([4, 4, 4], 1.0, seed=1, extra_blocks=[(0, 2)])) is None  # a skip edge: odd cycle


@pytest.mark.parametrize("sizes, density, dense", [([40, 30, 30, 30, 6], 1.0, True), ([40, 30, 30, 30, 6], 0.3, True),
                                                   ([700, 450, 450, 10], 0.05, False)])
def test_bipartite_embedding_equals_the_general_path(sizes, density, dense):
    # dense Gram (small or dense graphs) and ARPACK on the sparse Gram operator (a side of 460 nodes, 5% density)
    g = _layered(sizes, density, seed=2)
    built = block_biadjacency(g)
    assert built is not None and isinstance(built[0].matrix, np.ndarray) == dense
    keep = built[1]
    adj = as_csr(g.adjacency)[keep][:, keep]
    ours = spectral_embedding(adj, 6, np.random.RandomState(3))
    ref = _general_embedding(adj, 6, 3)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


@pytest.mark.parametrize("density", [1.0, 0.15])
def test_blocks_adjacency_and_scikit_learn_give_the_same_labels(density):
    g = _layered([60, 40, 40, 12], density, seed=4)  # sparse: some nodes lose every edge
    from_blocks = spectral_clustering(g, 5, n_init=10, seed=7)
    from_adjacency = spectral_clustering(g.adjacency, 5, n_init=10, seed=7)
    np.testing.assert_array_equal(from_blocks, from_adjacency)
    keep = from_blocks >= 0
    assert density < 1.0 or keep.all()
    dense = g.adjacency.toarray()[np.ix_(keep, keep)]
    ref = SpectralClustering(5, affinity="precomputed", eigen_solver="arpack", n_init=10, random_state=7).fit(dense).labels_
    np.testing.assert_array_equal(from_blocks[keep], ref)


def test_non_bipartite_block_graph_falls_back_to_the_adjacency():
    g = _layered([30, 20, 20], 1.0, seed=5, extra_blocks=[(0, 2)])
    np.testing.assert_array_equal(spectral_clustering(g, 4, n_init=5, seed=1), spectral_clustering(g.adjacency, 4, n_init=5, seed=1))


def test_blockwise_ncut_equals_adjacency_ncut():
    g = _layered([20, 15, 15, 5], 0.4, seed=6, extra_blocks=[(0, 2), (1, 1)])  # skip and within-layer blocks
    labels = np.random.default_rng(0).integers(-1, 4, g.n_nodes)  # -1: left out of the graph
    assert ncut(g, labels) == pytest.approx(ncut(g.adjacency, labels), rel=1e-12)


def test_shuffled_blocks_cluster_as_their_adjacency():
    g = _layered([50, 30, 30, 8], 0.2, seed=8)
    shuffled = shuffle_layer_weights(g, "layer", np.random.default_rng(1))
    labels = spectral_clustering(shuffled, 4, n_init=5, seed=2)
    np.testing.assert_array_equal(labels, spectral_clustering(shuffled.adjacency, 4, n_init=5, seed=2))
    assert ncut(shuffled, labels) == pytest.approx(ncut(shuffled.adjacency, labels), rel=1e-12)


def test_process_map_keeps_order_and_runs_closures():
    offset = 10
    assert process_map(lambda x: x * x + offset, range(7), 3) == [x * x + offset for x in range(7)]
    assert process_map(lambda x: -x, [4], 2) == [-4]
