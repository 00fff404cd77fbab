"""Every architecture, regulariser and clustering variant through the steps the workflow runs, at library level.

The workflow's own jobs are thin scripts around these calls (train_from_settings,
weight_graph, cluster_graph, shuffle_table, clusterability_row); running them here
in-process covers each variant in seconds, where one Snakemake job per step would
start Python and torch dozens of times. The workflow itself is exercised by
test_workflow_snakemake.py.
"""

import numpy as np
import pytest
import torch

from nnstructure import workflow as wc
from nnstructure.checkpoint import load_checkpoint, read_metadata
from nnstructure.cluster import cluster_graph
from nnstructure.cluster.ncut import ncut
from nnstructure.cluster.relative import shuffle_table
from nnstructure.data.dataset import Dataset
from nnstructure.graph import weight_graph
from nnstructure.graph.kernel_norms import kernel_slice_norms
from nnstructure.results import clusterability_row
from nnstructure.train import train_from_settings

TINY = {"epochs": 1, "prune_epochs": 1, "batch_size": 32, "prune_frequency": 1}


def images(n_train, n_test, shape, n_classes=10, seed=0, name="random"):
    rng = np.random.default_rng(seed)
    return Dataset(name, rng.integers(0, 256, (n_train, *shape), dtype=np.uint8), rng.integers(0, n_classes, n_train),
                   rng.integers(0, 256, (n_test, *shape), dtype=np.uint8), rng.integers(0, n_classes, n_test))


def run_cell(tmp_path, dataset, arch, settings, k, kind="layer", kernel_norm="l1", fold_batchnorm=True, seed=0,
             labels=None):
    """What the workflow's train, graph, cluster, shuffles and row jobs do for one network (final phase)."""
    out = tmp_path / f"{arch}-{seed}.pt"
    train_from_settings(dataset, arch, {**TINY, **settings}, seed, out, unpruned_out=tmp_path / f"{arch}-{seed}-u.pt",
                        device="cpu", progress=False)
    graph = weight_graph(out, kernel_norm=kernel_norm, fold_batchnorm=fold_batchnorm)
    node_labels, summary = cluster_graph(graph, k=k, n_init=1, seed=seed)
    shuffles = shuffle_table(graph, k=k, n_shuffles=2, kind=kind, n_init=1, seed=seed, device="cpu")
    row = clusterability_row(labels or {"arch": arch}, {"k": k, "n_init": 1, "shuffle": kind,
                                                       **({} if arch == "mlp" else {"kernel_norm": kernel_norm,
                                                                                    "fold_batchnorm": fold_batchnorm})},
                             summary, shuffles["ncut"].to_numpy(), read_metadata(out), shuffle_device="cpu")
    return out, graph, node_labels, row


@pytest.fixture(scope="module")
def cnn_data():
    return images(64, 32, (1, 8, 8))


@pytest.mark.parametrize("condition", [{"dropout": 0.25}, {"l1": 5e-5},
                                       {"clusterable_init": True, "ci_beta": 0.8}])
def test_small_cnn_variants_with_original_code_kernel_norm(tmp_path, cnn_data, condition):
    out, graph, labels, row = run_cell(tmp_path, cnn_data, "cnn", condition, k=3, kind="nonzero", kernel_norm="l1-matrix")
    model = load_checkpoint(out).model
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    # Conv channels only (3 x 64), and each edge is the matrix 1-norm of its kernel slice (original code).
    assert graph.layer_sizes == [64, 64, 64]
    expected = np.linalg.norm(np.abs(convs[1].weight[5, 7].detach().double().numpy()), 1)
    assert graph.blocks[0].weights[7, 5] == pytest.approx(expected)
    assert row["ncut"] == pytest.approx(ncut(graph.adjacency, labels))
    assert row["kernel_norm"] == "l1-matrix" and row["shuffle"] == "nonzero" and row["n_shuffles"] == 2
    assert row["clusterable_init"] == condition.get("clusterable_init", False)
    assert row["sparsity"] > 0.8 and row["train_device"] == "cpu"  # pruned toward 90% in two steps


def test_vgg_on_cifar_shapes_without_batchnorm_folding(tmp_path):
    """VGG-16 with dropout, L2 and augmentation; its graph with and without batch-norm folding (not clustered here:
    a 4224-node spectral clustering belongs in benchmarks, not in the test suite)."""
    data = images(8, 4, (3, 32, 32), name="cifar10")
    out = tmp_path / "vgg.pt"
    train_from_settings(data, "vgg", {**TINY, "batch_size": 8, "dropout": 0.5, "l2": 5e-4, "augment": True}, 0, out, device="cpu",
                        progress=False)
    graph = weight_graph(out, fold_batchnorm=False)
    assert graph.n_nodes == 4224  # 13 conv layers: 2x64, 2x128, 3x256, 6x512 channels
    model = load_checkpoint(out).model
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model if isinstance(m, torch.nn.BatchNorm2d)]
    # Without folding, an edge is the plain L1 norm of the kernel slice; folding scales the edges into each
    # channel of a conv by its batch norm's |gamma| / sqrt(running_var + eps).
    plain = kernel_slice_norms(convs[4].weight.detach().double().numpy(), "l1")
    assert graph.blocks[3].weights == pytest.approx(plain)
    scale = (bns[4].weight.detach().double().abs() / torch.sqrt(bns[4].running_var.double() + bns[4].eps)).numpy()
    assert weight_graph(out, fold_batchnorm=True).blocks[3].weights == pytest.approx(plain * scale[None, :])
    meta = read_metadata(out)
    assert meta["spec"]["dropout"] == 0.5 and meta["train_config"]["l2"] == 5e-4 and meta["train_config"]["augment"]


def test_mlp_regression_with_l2(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 2)).astype(np.float32)
    y = rng.normal(size=(128, 4)).astype(np.float32)
    data = Dataset("polynomial", x[:96], y[:96], x[96:], y[96:], task="regression", n_classes=None)
    _, graph, _, row = run_cell(tmp_path, data, "mlp", {"l2": 5e-5, "widths": [16, 16]}, k=3)
    assert graph.layer_sizes == [2, 16, 16, 4]  # MLP graphs include input and output units
    assert np.isnan(row["test_accuracy"]) and row["test_loss"] > 0 and row["l2"] == 5e-5
    assert row["kernel_norm"] is None  # graph settings do not apply to MLPs


def test_spectral_regularizer_label_and_reduction_recorded(tmp_path):
    data = images(64, 32, (1, 7, 7), name="mnist-7x7")
    cfg = {"networks": {"mlp-spectral": {"arch": "mlp", "label_arch": "mlp-7x7", "dataset": "mnist-7x7", "seeds": [0],
                                         "conditions": {"spectral-mean": {"reg": "spectral", "spectral_reg": 0.1,
                                                                           "spectral_reduction": "mean"}}}},
           "clusterability": {"networks": {"mlp-spectral": {}}}, "train": TINY}
    net = wc.Network("mlp-spectral", "spectral-mean", 0)
    labels = wc.row_labels(cfg, wc.AnalysisCell("mlp-spectral", net, "pruned"))
    settings = wc.train_params(cfg, net)["settings"]
    assert settings["spectral_reduction"] == "mean"
    _, _, _, row = run_cell(tmp_path, data, "mlp", {**settings, "widths": [8, 8]}, k=3, labels=labels)
    assert row["arch"] == "mlp-7x7" and row["reg"] == "spectral" and row["spectral_reduction"] == "mean"
