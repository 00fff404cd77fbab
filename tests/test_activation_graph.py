"""Activation graph: squared Spearman correlations of pre-ReLU activations."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from nnstructure.cluster import spectral_clustering
from nnstructure.graph import node_degrees
from nnstructure.graph.activations import (
    activation_graph,
    activation_graph_from_activations,
    pre_activations,
    spearman_squared,
    unit_layers,
)
from nnstructure.models import build_model


def test_spearman_squared_equals_scipy_spearmanr_squared_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=(40, 7)).astype(float)  # many ties
    a[:, 3] = a[:, 0] ** 3 + rng.normal(0, 0.1, 40)
    r2, constant = spearman_squared(a)
    expected = stats.spearmanr(a).statistic ** 2
    np.fill_diagonal(expected, 0)
    assert not constant.any()
    np.testing.assert_allclose(r2, expected, atol=1e-12)


def test_constant_units_get_no_edges_and_are_listed():
    rng = np.random.default_rng(1)
    acts = {"a": rng.normal(size=(30, 3)), "b": rng.normal(size=(30, 2))}
    acts["b"][:, 1] = 2.5
    graph = activation_graph_from_activations(acts)
    assert graph.meta["constant_units"] == [["b", 1]]
    deg = node_degrees(graph)
    assert deg[4] == 0 and np.all(deg[:4] > 0)
    labels = spectral_clustering(graph.adjacency, 2, n_init=3)
    assert labels[4] == -1


def test_mlp_activation_graph_covers_hidden_units_and_matches_scipy():
    torch.manual_seed(0)
    model = build_model({"arch": "mlp", "input_shape": [1, 4, 4], "n_outputs": 3, "widths": [5, 4]}, seed=0)
    x = np.random.default_rng(2).integers(0, 256, size=(50, 1, 4, 4), dtype=np.uint8)
    graph = activation_graph(model, x)
    assert graph.layer_names == ["1", "3"] and graph.layer_sizes == [5, 4]  # no inputs, no logits
    with torch.no_grad():
        h1 = model[1](model[0](torch.as_tensor(x).float() / 255))
        h2 = model[3](model[2](h1))
    acts = np.concatenate([h1.numpy(), h2.numpy()], axis=1)
    expected = stats.spearmanr(acts).statistic ** 2
    np.fill_diagonal(expected, 0)
    adjacency = graph.adjacency.toarray()
    np.testing.assert_allclose(adjacency, expected, atol=1e-6)
    np.testing.assert_allclose(adjacency, adjacency.T)
    within = [b for b in graph.blocks if b.src == b.dst]
    assert len(within) == 2 and all(np.all(np.tril(b.weights) == 0) for b in within)


def test_cnn_activations_are_l1_norms_of_pre_relu_feature_maps():
    model = build_model({"arch": "cnn", "input_shape": [1, 8, 8], "n_outputs": 3}, seed=0)
    x = np.random.default_rng(3).integers(0, 256, size=(6, 1, 8, 8), dtype=np.uint8)
    layers = unit_layers(model)
    assert [l.name for l in layers] == ["0", "2", "5"] and all(l.kind == "conv" for l in layers)
    acts = pre_activations(model, x, layers)
    with torch.no_grad():
        expected = model[0](torch.as_tensor(x).float() / 255).abs().sum(dim=(2, 3)).numpy()
    np.testing.assert_allclose(acts["0"], expected, rtol=1e-5)
    assert acts["5"].shape == (6, 64)


def test_network_without_hidden_layer_is_rejected():
    with pytest.raises(ValueError, match="no hidden layer"):
        unit_layers(nn.Sequential(nn.Flatten(), nn.Linear(4, 3)))
