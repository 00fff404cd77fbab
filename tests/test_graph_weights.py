"""Graphification of MLPs and CNNs, against hand computations."""

import numpy as np
import pytest
import torch
from torch import nn

from nnstructure.graph import drop_isolated_nodes, kernel_slice_norms, load_graph, save_graph, weight_graph
from nnstructure.io import ArtifactError


def _mlp(sizes, seed=0):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def test_mlp_graph_holds_inputs_outputs_and_abs_weights():
    model = _mlp([4, 3, 2])
    g = weight_graph(model)
    assert g.meta["kind"] == "mlp" and g.meta["kernel_norm"] == "l1" and g.meta["fold_batchnorm"] is True
    assert g.layer_names == ["input", "0", "2"]
    assert g.layer_sizes == [4, 3, 2]
    np.testing.assert_allclose(g.blocks[0].weights, model[0].weight.detach().abs().numpy().T)
    np.testing.assert_allclose(g.blocks[1].weights, model[2].weight.detach().abs().numpy().T)
    a = g.adjacency.toarray()
    # node 1 of the input layer to unit 2 of the first hidden layer, both directions
    w = abs(model[0].weight[2, 1].item())
    assert a[1, 4 + 2] == pytest.approx(w) and a[4 + 2, 1] == pytest.approx(w)
    assert a[:4, :4].sum() == 0 and a[:4, 7:].sum() == 0  # no edges within a layer or skipping one


def _kernel(out_ch, in_ch, values):
    return torch.tensor(values, dtype=torch.float32).reshape(out_ch, in_ch, 2, 2)


def _cnn(bn_after_second: bool, bn_after_first: bool = False):
    """conv(1->2) [BN] ReLU conv(2->2) ReLU [BN] MaxPool conv(2->1) Flatten Linear; 2x2 kernels."""
    conv1 = nn.Conv2d(1, 2, 2, bias=False)
    conv2 = nn.Conv2d(2, 2, 2)
    conv3 = nn.Conv2d(2, 1, 2, bias=False)
    with torch.no_grad():
        conv2.weight.copy_(_kernel(2, 2, [1, -2, 3, 0, 0, 0, 0, -1, 2, 2, -2, 2, 3, -4, 0, 0]))
        conv3.weight.copy_(_kernel(1, 2, [1, 1, 1, 1, -1, 0, 0, 0]))
    layers = [conv1]
    if bn_after_first:
        bn1 = nn.BatchNorm2d(2).eval()
        with torch.no_grad():
            bn1.weight.copy_(torch.tensor([5.0, 7.0]))
        layers.append(bn1)
    layers += [nn.ReLU(), conv2, nn.ReLU()]
    if bn_after_second:
        bn = nn.BatchNorm2d(2).eval()
        with torch.no_grad():
            bn.weight.copy_(torch.tensor([2.0, -3.0]))
            bn.running_var.copy_(torch.tensor([4.0 - bn.eps, 1.0 - bn.eps]))
        layers.append(bn)
    layers += [nn.MaxPool2d(2), conv3, nn.Flatten(), nn.Linear(4, 3)]
    return nn.Sequential(*layers)


# conv2 slices weight[o, i] (2x2): o0i0 [[1,-2],[3,0]], o0i1 [[0,0],[0,-1]], o1i0 [[2,2],[-2,2]], o1i1 [[3,-4],[0,0]]
HAND = {
    "l1": [[6, 8], [1, 7]],  # block[i, o]
    "l1-matrix": [[4, 4], [1, 4]],  # max column sum of |slice|
    "l2": [[np.sqrt(14), 4], [1, 5]],
    "l2-matrix": [[np.linalg.norm([[1, 2], [3, 0]], 2), np.linalg.norm([[2, 2], [2, 2]], 2)], [1, 5]],
}


@pytest.mark.parametrize("norm", sorted(HAND))
def test_cnn_graph_channels_and_kernel_norms(norm):
    g = weight_graph(_cnn(bn_after_second=False), kernel_norm=norm)
    assert g.meta["kind"] == "cnn"
    assert g.layer_sizes == [2, 2, 1]  # output channels of each conv; no input channel, no dense layer
    np.testing.assert_allclose(g.blocks[0].weights, HAND[norm])
    assert (g.blocks[0].src, g.blocks[0].dst) == (0, 1)
    np.testing.assert_allclose(g.blocks[1].weights, {"l1": [[4], [1]], "l1-matrix": [[2], [1]], "l2": [[2], [1]], "l2-matrix": [[2], [1]]}[norm])


def test_batchnorm_folds_into_the_conv_it_follows():
    # BN after conv2: scale |gamma| / sqrt(var + eps) = [2/2, 3/1] multiplies the edges INTO conv2's channels
    g = weight_graph(_cnn(bn_after_second=True), kernel_norm="l1")
    np.testing.assert_allclose(g.blocks[0].weights, [[6 * 1.0, 8 * 3.0], [1 * 1.0, 7 * 3.0]], rtol=1e-6)
    np.testing.assert_allclose(g.blocks[1].weights, [[4], [1]])  # conv3's edges untouched
    unfolded = weight_graph(_cnn(bn_after_second=True), kernel_norm="l1", fold_batchnorm=False)
    np.testing.assert_allclose(unfolded.blocks[0].weights, HAND["l1"])
    assert unfolded.meta["fold_batchnorm"] is False
    # a BN after the first conv scales edges from the (omitted) input layer: no effect, as in the original code
    g1 = weight_graph(_cnn(bn_after_second=False, bn_after_first=True))
    np.testing.assert_allclose(g1.blocks[0].weights, HAND["l1"])


def test_kernel_slice_norms_shape_is_in_by_out():
    k = np.arange(2 * 3 * 3 * 3, dtype=float).reshape(2, 3, 3, 3)
    n = kernel_slice_norms(k, "l1")
    assert n.shape == (3, 2)
    assert n[1, 0] == np.abs(k[0, 1]).sum()


def test_unsupported_layers_and_options_are_named():
    with pytest.raises(ValueError, match="Tanh"):
        weight_graph(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="kernel_norm"):
        weight_graph(_mlp([2, 2]), kernel_norm="l3")


def test_save_load_roundtrip_and_corrupt_file(tmp_path):
    model = _mlp([5, 4, 3])
    with torch.no_grad():
        model[0].weight[0, :] = 0  # exact zeros survive
    g = weight_graph(model)
    path = tmp_path / "g.npz"
    save_graph(g, path)
    h = load_graph(path)
    assert h.layer_names == g.layer_names and h.layer_sizes == g.layer_sizes and h.meta == g.meta
    for a, b in zip(g.blocks, h.blocks):
        assert (a.src, a.dst) == (b.src, b.dst)
        np.testing.assert_array_equal(a.weights, b.weights)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ArtifactError, match="g.npz"):
        load_graph(path)
    with pytest.raises(ArtifactError, match="missing.npz"):
        load_graph(tmp_path / "missing.npz")


def test_drop_isolated_nodes_keeps_the_rest():
    model = _mlp([3, 3, 2])
    with torch.no_grad():
        model[0].weight[1, :] = 0  # hidden unit 1 has no inputs...
        model[2].weight[:, 1] = 0  # ...and no outputs
    g = weight_graph(model)
    sub, keep = drop_isolated_nodes(g)
    assert keep.tolist() == [True, True, True, True, False, True, True, True]
    assert sub.layer_sizes == [3, 2, 2]
    assert sub.meta["node_ids"].tolist() == [0, 1, 2, 3, 5, 6, 7]
    full = g.adjacency.toarray()
    np.testing.assert_array_equal(sub.adjacency.toarray(), full[keep][:, keep])


def test_denormal_weights_are_read_as_zeros_as_tensorflow_stored_them():
    """A dead unit whose weights decayed to float32 denormals has no edge (TensorFlow flushes denormals to zero,
    so the thesis's graphs had none); a unit with tiny but normal weights keeps its edges, with their values."""
    from nnstructure.cluster import cluster_graph
    from nnstructure.graph.stored_weights import FLOAT32_TINY, stored_weights

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        model[0].weight[1] = 1e-40   # hidden unit 1: every weight a denormal
        model[2].weight[:, 1] = -1e-40
        model[0].weight[2] = 1e-30   # hidden unit 2: tiny, but normal floats
    assert 0 < 1e-40 < FLOAT32_TINY < 1e-30
    assert torch.tensor(1e-40).item() != 0 and stored_weights(torch.tensor([1e-40, -2e-39, 1e-30]))[2] == pytest.approx(1e-30)
    np.testing.assert_array_equal(stored_weights(np.array([1e-40, -2e-39, 3.0])), [0.0, 0.0, 3.0])
    graph = weight_graph(model)
    degree = np.asarray(graph.adjacency.sum(axis=1)).ravel()
    hidden = 6 + np.arange(5)
    assert degree[hidden[1]] == 0 and degree[hidden[2]] > 0
    sub, keep = drop_isolated_nodes(graph)
    assert not keep[hidden[1]] and sub.n_nodes == graph.n_nodes - 1
    labels, _ = cluster_graph(graph, k=2, n_init=3, seed=0)
    assert labels[hidden[1]] == -1  # not a vertex: never a cluster of its own
