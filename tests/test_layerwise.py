"""Layer-wise clustering: each layer clustered with its neighbours into as many clusters as it has network-wide."""

import numpy as np
import pytest

import nnstructure.cluster.layerwise as layerwise
from nnstructure.cluster.layerwise import clusters_per_layer, layerwise_clustering
from nnstructure.graph import Block, BlockGraph


def _planted_graph(rng):
    """Three layers of 12 nodes; layer 1's nodes form 3 groups of 4, strongly tied to matching nodes around them."""
    sizes = [12, 12, 12]
    groups = np.repeat(np.arange(3), 4)
    w = lambda: np.where(groups[:, None] == groups[None, :], 1.0, 0.01) * (0.5 + rng.random((12, 12)))
    return BlockGraph(["a", "b", "c"], sizes, [Block(0, 1, w()), Block(1, 2, w())]), groups


def test_layerwise_uses_the_network_wide_cluster_count_of_each_layer(monkeypatch):
    graph, groups = _planted_graph(np.random.default_rng(0))
    network = np.concatenate([np.array([0, 1] * 6), groups + 2, np.zeros(12, int) + 5])  # k: a=2, b=3, c=1
    assert clusters_per_layer(graph, network) == {"a": 2, "b": 3, "c": 1}
    calls = []
    real = layerwise.spectral_clustering

    def spy(adjacency, k, n_init=25, seed=0):
        calls.append((adjacency.shape[0], k))
        return real(adjacency, k, n_init=n_init, seed=seed)

    monkeypatch.setattr(layerwise, "spectral_clustering", spy)
    labels, k_used = layerwise_clustering(graph, network, n_init=5)
    assert k_used == {"a": 2, "b": 3, "c": 1}
    # a with its neighbour b (24 nodes, k=2); b with a and c (36 nodes, k=3); c has one cluster: no clustering run
    assert calls == [(24, 2), (36, 3)]
    assert len(np.unique(labels[24:])) == 1
    # layer b's planted groups are recovered
    b = labels[12:24]
    assert len(np.unique(b)) == 3 and all(len(np.unique(b[groups == g])) == 1 for g in range(3))


def test_layerwise_within_scope_and_unclustered_layers():
    graph, groups = _planted_graph(np.random.default_rng(1))
    network = np.concatenate([np.zeros(12, int), groups, np.zeros(12, int)])
    labels, k_used = layerwise_clustering(graph, network, layers=["b"], scope="adjacent", n_init=5)
    assert k_used == {"b": 3} and np.all(labels[:12] == -1) and np.all(labels[24:] == -1)
    with pytest.raises(ValueError, match="scope"):
        layerwise_clustering(graph, network, scope="neighbours")
    with pytest.raises(ValueError, match="not in the graph"):
        layerwise_clustering(graph, network, layers=["z"])
