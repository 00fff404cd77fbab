"""Spectral clustering, n-cut, shuffles and relative clusterability."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score
from torch import nn

from nnstructure.cluster import (
    ncut,
    relative_clusterability,
    relative_clusterability_stats,
    resolve_n_init,
    shuffle_layer_weights,
    shuffle_table,
    shuffled_ncuts,
    spectral_clustering,
    spectral_embedding,
    spectral_embeddings_dense,
)
from nnstructure.cluster.relative import _dense_rows
from nnstructure.graph import Block, BlockGraph, drop_isolated_nodes, weight_graph


def _sym(n, edges):
    a = np.zeros((n, n))
    for i, j, w in edges:
        a[i, j] = a[j, i] = w
    return a


def test_ncut_matches_hand_computation():
    # path 0-1-2-3 with weights 1, 2, 3 and a chord 0-2 of weight 4; clusters {0,1} and {2,3}
    a = _sym(4, [(0, 1, 1), (1, 2, 2), (2, 3, 3), (0, 2, 4)])
    # vol{0,1} = (1+4) + (1+2) = 8; vol{2,3} = (2+3+4) + 3 = 12; cut = 2 + 4 = 6
    assert ncut(a, [0, 0, 1, 1]) == pytest.approx(6 / 8 + 6 / 12)
    # three clusters {0}, {1,2}, {3}: cuts 5, 1+4+3=8, 3; vols 5, 3+9=12, 3
    assert ncut(sp.csr_matrix(a), [0, 1, 1, 2]) == pytest.approx(5 / 5 + 8 / 12 + 3 / 3)
    # -1 nodes are removed from the graph: on {0,1,2}, clusters {0,1} {2}: cut 6, vols 5+3=8 and 6
    assert ncut(a, [0, 0, 1, -1]) == pytest.approx(6 / 8 + 6 / 6)


def _planted(n_blocks, size, p_in, p_out, seed):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_blocks), size)
    same = truth[:, None] == truth[None, :]
    w = rng.uniform(0.5, 1.5, (len(truth),) * 2) * np.where(same, rng.random(same.shape) < p_in, rng.random(same.shape) < p_out)
    a = np.triu(w, 1)
    return a + a.T, truth


def test_two_disconnected_halves_have_zero_ncut_and_are_found():
    a, truth = _planted(2, 30, 0.5, 0.0, seed=1)
    labels = spectral_clustering(a, 2, n_init=5, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0
    assert ncut(a, labels) == pytest.approx(0.0, abs=1e-12)


def test_planted_four_blocks_recovered():
    a, truth = _planted(4, 150, 0.3, 0.01, seed=2)  # 600 nodes: the sparse ARPACK path
    labels = spectral_clustering(sp.csr_matrix(a), 4, n_init=10, seed=3)
    assert adjusted_rand_score(truth, labels) == 1.0


def test_same_labels_as_scikit_learn():
    a, _ = _planted(3, 150, 0.1, 0.05, seed=4)
    ours = spectral_clustering(sp.csr_matrix(a), 5, n_init=10, seed=7)
    ref = SpectralClustering(5, affinity="precomputed", eigen_solver="arpack", n_init=10, random_state=7).fit(a).labels_
    assert adjusted_rand_score(ours, ref) == 1.0


def test_zero_degree_nodes_get_minus_one():
    a, truth = _planted(2, 20, 0.6, 0.0, seed=5)
    big = np.zeros((43, 43))
    idx = np.r_[0:10, 11:30, 31:42]  # nodes 10, 30 and 42 have no edges
    big[np.ix_(idx, idx)] = a
    labels = spectral_clustering(big, 2, n_init=3, seed=0)
    assert labels[[10, 30, 42]].tolist() == [-1, -1, -1]
    assert adjusted_rand_score(truth, labels[idx]) == 1.0
    assert ncut(big, labels) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="lower k"):
        spectral_clustering(_sym(3, [(0, 1, 1.0)]), 3)


def test_resolve_n_init():
    assert resolve_n_init("auto", 2000) == 25 and resolve_n_init("auto", 2001) == 100
    assert resolve_n_init(7, 10**6) == 7
    with pytest.raises(ValueError):
        resolve_n_init("many", 10)


def _graph(seed=0, density=0.3):
    rng = np.random.default_rng(seed)
    sizes = [40, 30, 30, 10]
    blocks = []
    for i in range(3):
        w = rng.random((sizes[i], sizes[i + 1])) * (rng.random((sizes[i], sizes[i + 1])) < density)
        blocks.append(Block(i, i + 1, w))
    return BlockGraph(["input", "0", "2", "4"], sizes, blocks)


def test_nonzero_shuffle_keeps_sparsity_pattern_and_values():
    g = _graph()
    s = shuffle_layer_weights(g, "nonzero", np.random.default_rng(0))
    for b, c in zip(g.blocks, s.blocks):
        np.testing.assert_array_equal(b.weights != 0, c.weights != 0)
        np.testing.assert_array_equal(np.sort(b.weights[b.weights != 0]), np.sort(c.weights[c.weights != 0]))
        assert not np.array_equal(b.weights, c.weights)
    assert s.meta["shuffle"] == "nonzero"


def test_layer_shuffle_keeps_each_blocks_multiset():
    g = _graph()
    s = shuffle_layer_weights(g, "layer", np.random.default_rng(0))
    for b, c in zip(g.blocks, s.blocks):
        np.testing.assert_array_equal(np.sort(b.weights, axis=None), np.sort(c.weights, axis=None))
        assert not np.array_equal(b.weights != 0, c.weights != 0)  # zeros moved too
    with pytest.raises(ValueError, match="shuffle kind"):
        shuffle_layer_weights(g, "all", np.random.default_rng(0))


def test_stats_match_definitions():
    shuffled = np.array([1.0, 2.0, 3.0, 4.0])
    st = relative_clusterability_stats(2.5, shuffled)
    assert st["shuffle_mean"] == 2.5
    assert st["shuffle_std"] == pytest.approx(np.sqrt(1.25))  # population s.d.
    assert st["p_value"] == pytest.approx((2 + 1) / (4 + 1))
    assert st["z_score"] == pytest.approx(0.0)
    st = relative_clusterability_stats(0.5, shuffled)
    assert st["p_value"] == pytest.approx(1 / 5)
    assert st["z_score"] == pytest.approx((0.5 - 2.5) / np.sqrt(1.25))
    # a tie counts against the network (North et al. 2002): not "more clusterable than all" shuffles
    assert relative_clusterability_stats(2.0, shuffled)["p_value"] == pytest.approx(3 / 5)
    assert relative_clusterability_stats(1.0, shuffled)["p_value"] == pytest.approx(2 / 5)


def test_shuffles_do_not_depend_on_jobs_and_dense_path_agrees():
    g = _graph(seed=1, density=0.15)
    serial = shuffle_table(g, k=4, n_shuffles=4, n_init=5, seed=11, n_jobs=1, device="cpu")
    parallel = shuffle_table(g, k=4, n_shuffles=4, n_init=5, seed=11, n_jobs=2, device="cpu")
    assert serial.equals(parallel)
    assert serial["index"].tolist() == [0, 1, 2, 3]
    assert serial["ncut"].nunique() == 4
    # the batched torch.linalg.eigh path (used on GPUs), run on the CPU, gives the same clusterings
    sub, _ = drop_isolated_nodes(g)
    dense = _dense_rows(sub, 4, "layer", 5, 11, [0, 1, 2, 3], torch.device("cpu"))
    np.testing.assert_allclose([r["ncut"] for r in dense], serial["ncut"], rtol=1e-9)
    assert [r["n_nodes"] for r in dense] == serial["n_nodes"].tolist()
    assert np.array_equal(shuffled_ncuts(g, 4, 2, n_init=5, seed=11, device="cpu"), serial["ncut"][:2])


def test_dense_embeddings_match_sparse_embedding_with_padding():
    graphs = [_planted(3, n, 0.4, 0.05, seed=n)[0] for n in (150, 170)]  # 450 and 510 nodes: ARPACK path
    dense = spectral_embeddings_dense(graphs, 3, [np.random.RandomState(0)] * 2, device="cpu")
    for a, emb in zip(graphs, dense):
        ref = spectral_embedding(sp.csr_matrix(a), 3, np.random.RandomState(0))
        assert emb.shape == ref.shape
        np.testing.assert_allclose(emb, ref, atol=1e-8)


def test_random_glorot_mlp_ncut_in_thesis_range():
    # Thesis Figure A.1: randomly initialised 784-256-256-256-256-10 MLPs have n-cuts of 10.2-10.4 at k=12.
    torch.manual_seed(0)
    sizes = [784, 256, 256, 256, 256, 10]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lin = nn.Linear(a, b)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    g = weight_graph(nn.Sequential(*layers[:-1]))
    labels = spectral_clustering(g.adjacency, 12, n_init=25, seed=0)
    assert 10.2 <= ncut(g.adjacency, labels) <= 10.4


def test_modular_network_is_relatively_clusterable():
    # A planted-module MLP graph: 4 modules, strong weights within, weak across.
    rng = np.random.default_rng(0)
    sizes = [60, 40, 40, 20]
    modules = [rng.integers(0, 4, s) for s in sizes]
    blocks = []
    for i in range(3):
        same = modules[i][:, None] == modules[i + 1][None, :]
        w = rng.random((sizes[i], sizes[i + 1])) * np.where(same, 1.0, 0.05) * (rng.random(same.shape) < 0.7)
        blocks.append(Block(i, i + 1, w))
    g = BlockGraph(["input", "0", "2", "4"], sizes, blocks)
    res = relative_clusterability(g, k=4, n_shuffles=9, n_init=5, seed=0, device="cpu")
    assert res["p_value"] == pytest.approx(1 / 10)
    assert res["z_score"] < -5
    assert res["n_nodes"] == g.n_nodes - int((res["labels"] == -1).sum())
    assert res["n_init"] == 5 and res["shuffle"] == "layer" and res["n_shuffles"] == 9
    assert len(res["shuffled_ncuts"]) == 9
    assert res["ncut"] == pytest.approx(ncut(g.adjacency, res["labels"]))
    found = res["labels"][res["labels"] >= 0]
    truth = np.concatenate(modules)[res["labels"] >= 0]
    assert adjusted_rand_score(truth, found) > 0.9
