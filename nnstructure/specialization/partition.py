"""The four partitionings of a network (thesis 4.3.1): {weights, activations} x {network-wide, layer-wise}.

* ``weight-*`` cluster chapter 3's weight graph (MLPs: every neuron, inputs and
  logits included; CNNs: conv channels only).
* ``act-*`` cluster the activation graph (:mod:`nnstructure.graph.activations`:
  hidden units only) built on a validation split of the *training* data.
* ``*-network`` is one spectral clustering of the whole graph into ``k``
  clusters; ``*-layer`` clusters every hidden unit layer on its neighbourhood
  into as many clusters as the network-wide clustering has in that layer
  (:func:`nnstructure.cluster.layerwise.layerwise_clustering`).

A partition is stored as chapter 3's labels table (``layer, layer_name, unit,
label``: one row per node of the graph, ``-1`` for a node that was not
clustered) with a summary in its Parquet metadata: partitioning, k, seed,
n_init, the k used in each layer, the activation graph's constant units, the
validation size and the graph settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from nnstructure.cluster.labels_table import labels_frame, read_cluster_summary, write_cluster_labels
from nnstructure.cluster.layerwise import LAYER_SCOPES, layerwise_clustering
from nnstructure.cluster.ncut import ncut
from nnstructure.cluster.spectral import resolve_n_init, spectral_clustering
from nnstructure.graph.activations import activation_graph, unit_layers
from nnstructure.graph.blocks import BlockGraph
from nnstructure.graph.subgraph import node_degrees
from nnstructure.graph.weights import weight_graph
from nnstructure.io import ArtifactError, read_parquet
from nnstructure.seeding import derive_seed
from nnstructure.specialization.choices import DEFAULT_VALIDATION_SIZE, PARTITIONING_LABELS, PARTITIONINGS  # noqa: F401



@dataclass
class Partition:
    """A clustering of a network's graph: ``labels[i]`` is node ``i``'s cluster (``-1``: not clustered)."""

    graph: BlockGraph
    labels: np.ndarray
    summary: dict = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return labels_frame(self.graph, self.labels)


def check_partitioning(name: str) -> tuple[str, str]:
    """``(graph kind, scope)`` of a partitioning name such as ``"act-layer"``."""
    if name not in PARTITIONINGS:
        raise ValueError(f"unknown partitioning {name!r}; choose one of {', '.join(PARTITIONINGS)}")
    graph_kind, scope = name.split("-")
    return graph_kind, scope


def validation_inputs(x_train: np.ndarray, size: int = DEFAULT_VALIDATION_SIZE, seed: int = 0) -> np.ndarray:
    """A seeded random subset of ``size`` training inputs (all of them if there are fewer), in original order."""
    n = len(x_train)
    if size < 3:
        raise ValueError(f"the validation split needs at least 3 inputs to correlate activations, got {size}")
    if size >= n:
        return x_train
    rng = np.random.default_rng(derive_seed(seed, "activation-validation-split"))
    return x_train[np.sort(rng.choice(n, size=size, replace=False))]


def partitioning_graph(model: nn.Module, partitioning: str, inputs=None, kernel_norm: str = "l1",
                       fold_batchnorm: bool = True, device=None) -> BlockGraph:
    """The graph a partitioning clusters: the activation graph on ``inputs`` (act-*) or the weight graph."""
    graph_kind, _ = check_partitioning(partitioning)
    if graph_kind == "act":
        if inputs is None:
            raise ValueError(f"partitioning {partitioning!r} needs inputs (a validation split of the training data)")
        return activation_graph(model, inputs, device=device)
    return weight_graph(model, kernel_norm=kernel_norm, fold_batchnorm=fold_batchnorm)


def partition_network(
    model: nn.Sequential,
    partitioning: str,
    k: int,
    seed: int = 0,
    inputs: np.ndarray | None = None,
    n_init: int | str = 25,
    kernel_norm: str = "l1",
    fold_batchnorm: bool = True,
    layer_scope: str = "adjacent",
    network_labels: np.ndarray | None = None,
    graph: BlockGraph | None = None,
    device=None,
) -> Partition:
    """Cluster ``model`` by ``partitioning`` (one of :data:`PARTITIONINGS`) into ``k`` clusters.

    ``inputs`` (activation partitionings only) is the validation split of the
    training inputs (see :func:`validation_inputs`). For a layer-wise
    partitioning ``network_labels`` may pass the network-wide labels of the same
    graph (otherwise they are computed here with the same ``k``, ``n_init`` and
    ``seed``). ``layer_scope`` is ``"adjacent"`` (thesis) or ``"within"``
    (the original code's layer-wise activation clustering). ``graph`` passes a
    ready graph of the partitioning's kind (e.g.
    :func:`nnstructure.specialization.imagenet.vgg_weight_graph`) whose layer
    names include the model's hidden unit layers.
    """
    graph_kind, scope = check_partitioning(partitioning)
    if int(k) < 2:
        raise ValueError(f"k must be at least 2 clusters, got {k}")
    if layer_scope not in LAYER_SCOPES:
        raise ValueError(f"layer_scope must be one of {LAYER_SCOPES}, got {layer_scope!r}")
    hidden = unit_layers(model)  # also rejects networks without a hidden layer
    if graph is not None:
        absent = [layer.name for layer in hidden if layer.name not in graph.layer_names]
        if absent:
            raise ValueError(f"the graph given has no node layers {absent} of the model (graph layers: {graph.layer_names})")
    else:
        graph = partitioning_graph(model, partitioning, inputs, kernel_norm, fold_batchnorm, device)
    n_clusterable = int((node_degrees(graph) > 0).sum())
    if k > n_clusterable:
        sizes = ", ".join(f"{n}: {s}" for n, s in zip(graph.layer_names, graph.layer_sizes))
        raise ValueError(
            f"k={k} clusters is more than the {n_clusterable} units with edges in the {graph_kind} graph "
            f"(layer sizes {sizes}); lower --k"
        )
    if network_labels is None:
        network_labels = spectral_clustering(graph.adjacency, k, n_init=n_init, seed=seed)
    elif np.asarray(network_labels).shape != (graph.n_nodes,):
        raise ValueError(f"network_labels has {np.asarray(network_labels).shape[0]} entries, the graph has {graph.n_nodes} nodes")
    summary = {
        "partitioning": partitioning,
        "graph": graph_kind,
        "scope": scope,
        "k": int(k),
        "seed": int(seed),
        "n_init": resolve_n_init(n_init, n_clusterable),
        "n_nodes": n_clusterable,
        "hidden_layers": [layer.name for layer in hidden],
    }
    if graph_kind == "act":
        summary.update(constant_units=graph.meta["constant_units"], validation_size=int(graph.meta["n_samples"]))
    else:
        summary.update(kernel_norm=kernel_norm, fold_batchnorm=bool(fold_batchnorm))
    if scope == "network":
        labels = np.asarray(network_labels, dtype=np.int64)
        summary["ncut"] = ncut(graph.adjacency, labels)
        off = graph.offsets
        summary["k_per_layer"] = {
            name: int(np.unique(labels[off[i]:off[i + 1]][labels[off[i]:off[i + 1]] >= 0]).size)
            for i, name in enumerate(graph.layer_names)
        }
    else:
        labels, k_per_layer = layerwise_clustering(
            graph, network_labels, layers=[layer.name for layer in hidden], scope=layer_scope, n_init=n_init, seed=seed
        )
        summary.update(k_per_layer=k_per_layer, layer_scope=layer_scope)
    return Partition(graph, labels, summary)


def write_partition(partition: Partition, path: str | os.PathLike) -> None:
    """Write the labels table with the summary in its metadata, atomically."""
    write_cluster_labels(partition.graph, partition.labels, partition.summary, path)


def read_partition(path: str | os.PathLike) -> tuple[pd.DataFrame, dict]:
    """``(labels table, summary)`` of a partition written by :func:`write_partition`."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"partition labels {path} do not exist; make them with `nnstructure partition CHECKPOINT --out {path}`")
    summary = read_cluster_summary(path)
    if "partitioning" not in summary:
        raise ArtifactError(f"{path} is a chapter-3 clustering, not a partition; make one with `nnstructure partition`")
    return read_parquet(path), summary


def partition_by_method(model, partitioning: str, method: str, k=16, seed: int = 0, settings=None, inputs=None,
                        kernel_norm: str = "l1", fold_batchnorm: bool = True, layer_scope: str = "adjacent",
                        k_max: int = 32, device=None):
    """Chapter 4's ``partitioning`` of ``model`` with its network-wide clusters found by ``method``.

    The graph is the partitioning's (weights, or activations on ``inputs``); ``method`` partitions it
    network-wide (``k``: the fixed-k methods' k or ``"auto"``, the eigengap choice). A layer-wise partitioning
    then clusters every hidden layer as chapter 4 does, with as many clusters as the method's partition has in
    that layer (:func:`nnstructure.specialization.partition.partition_network`). Returns the
    :class:`~nnstructure.specialization.partition.Partition`, its summary recording the method.
    """
    from nnstructure.cluster.methods import method_settings
    from nnstructure.cluster.relative import method_clusterability

    graph_kind, _ = check_partitioning(partitioning)
    graph = partitioning_graph(model, partitioning, inputs, kernel_norm, fold_batchnorm, device)
    quality = method_clusterability(graph, method, k, 0, "layer", seed, settings, k_max)
    labels = quality["labels"]
    n_clusters = int(quality["n_clusters"])
    if n_clusters < 2:
        raise ValueError(f"{method} puts every node of the {graph_kind} graph in one cluster, so there are no "
                         "subclusters to test; choose another method or setting (e.g. a higher resolution)")
    n_init = (settings or {}).get("n_init", 25)
    part = partition_network(model, partitioning, n_clusters, seed=seed, n_init=n_init, kernel_norm=kernel_norm,
                             fold_batchnorm=fold_batchnorm, layer_scope=layer_scope, network_labels=labels,
                             graph=graph)
    part.summary.update(method=method, method_settings=method_settings(method, settings), k_setting=str(k),
                        modularity=quality["modularity"])
    return part
