"""Relative clusterability: a network's n-cut against the n-cuts of its shuffles.

Follows the thesis (3.2.3) and the original ``run_clustering``: zero-degree
nodes are dropped *before* shuffling and again from every shuffled graph;
each graph is clustered with :func:`spectral_clustering`; the left one-sided
p-value is ``(#{shuffled <= observed} + 1) / (n + 1)`` (North et al. 2002: ties count) and the z-score uses the
population standard deviation of the shuffled n-cuts.

Shuffle ``i`` draws its permutation and its clustering seed from
``SeedSequence([seed, i])``, so results do not depend on ``n_jobs`` or on the
order the shuffles run in. On the CPU each shuffle is clustered straight from
its shuffled weight blocks, single-threaded, and ``n_jobs`` spreads the shuffles
over that many processes (:mod:`nnstructure.cluster.parallel`: one kind of
parallelism, never threads inside processes). With a CUDA device the shuffles'
eigenproblems are solved in batches by ``torch.linalg.eigh`` (k-means stays
scikit-learn's on CPU).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from nnstructure.cluster.ncut import ncut
from nnstructure.cluster.parallel import process_map, single_threaded
from nnstructure.cluster.shuffle import SHUFFLE_KINDS, shuffle_layer_weights
from nnstructure.cluster.spectral import kmeans_labels, resolve_n_init, spectral_clustering, spectral_embeddings_dense
from nnstructure.device import device_preference, select_device
from nnstructure.graph.blocks import BlockGraph
from nnstructure.graph.subgraph import drop_isolated_nodes

# Graphs above this many nodes stay on the sparse CPU path even with a GPU
# (a dense float64 n x n batch would not pay off or fit).
GPU_MAX_NODES = 8192
# Bytes of GPU memory one batched eigh may use, as a fraction of what is free.
GPU_MEMORY_FRACTION = 0.25


def relative_clusterability_stats(observed: float, shuffled: Sequence[float]) -> dict:
    """Mean, population s.d., left p-value and z-score of ``observed`` against ``shuffled``.

    The p-value is North et al.'s (2002; the thesis's reference) ``(r + 1) / (n + 1)``, with r the shuffles
    at least as clusterable as the network (n-cut ``<=`` observed): a tie counts against the network, so
    ``p = 1 / (n + 1)`` means "more clusterable than all n shuffles", as the thesis's tables count it."""
    shuffled = np.asarray(shuffled, dtype=np.float64)
    if shuffled.size == 0:
        raise ValueError("no shuffled n-cuts to compare with; use at least one shuffle")
    mean = float(shuffled.mean())
    std = float(shuffled.std(ddof=0))
    p_value = (int(np.sum(shuffled <= observed)) + 1) / (shuffled.size + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.float64(observed - mean) / np.float64(std))
    return {"shuffle_mean": mean, "shuffle_std": std, "p_value": p_value, "z_score": z, "n_shuffles": int(shuffled.size)}


def _shuffle_seeds(seed: int, index: int) -> tuple[np.random.Generator, int]:
    """Independent (permutation generator, clustering seed) for shuffle ``index``."""
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    perm_seq, cluster_seq = np.random.SeedSequence([seed, index]).spawn(2)
    return np.random.default_rng(perm_seq), int(cluster_seq.generate_state(1)[0])


def shuffled_adjacency(graph: BlockGraph, kind: str, seed: int, index: int) -> tuple:
    """``(adjacency without zero-degree nodes, clustering seed)`` of shuffle ``index``."""
    rng, cluster_seed = _shuffle_seeds(seed, index)
    shuffled, _ = drop_isolated_nodes(shuffle_layer_weights(graph, kind, rng))
    return shuffled.adjacency, cluster_seed


def _shuffle_rows(graph: BlockGraph, k: int, kind: str, n_init, seed: int, indices: Sequence[int]) -> list[dict]:
    """The rows of shuffles ``indices``, clustered from the shuffled blocks (zero-degree nodes left out)."""
    rows = []
    for i in indices:
        rng, cluster_seed = _shuffle_seeds(seed, i)
        shuffled = shuffle_layer_weights(graph, kind, rng)
        labels = spectral_clustering(shuffled, k, n_init, cluster_seed)
        n_nodes = int((labels >= 0).sum())
        rows.append({"index": int(i), "ncut": ncut(shuffled, labels), "n_nodes": n_nodes,
                     "n_init": resolve_n_init(n_init, n_nodes)})
    return rows


def _dense_rows(graph: BlockGraph, k: int, kind: str, n_init, seed: int, indices: Sequence[int], device) -> list[dict]:
    """The shuffles' eigenproblems in batches of dense ``torch.linalg.eigh`` on ``device`` (the GPU path)."""
    import torch

    device = torch.device(device)
    n = max(graph.n_nodes, 1)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        batch_size = max(1, int(free * GPU_MEMORY_FRACTION // (3 * n * n * 8)))  # input, vectors, workspace
    else:
        batch_size = len(indices)
    rows = []
    for start in range(0, len(indices), batch_size):
        chunk = list(indices[start : start + batch_size])
        made = [shuffled_adjacency(graph, kind, seed, i) for i in chunk]
        states = [np.random.RandomState(s) for _, s in made]
        embeddings = spectral_embeddings_dense([a for a, _ in made], k, states, device=device)
        for i, (adj, _), rs, emb in zip(chunk, made, states, embeddings):
            used = resolve_n_init(n_init, adj.shape[0])
            labels = kmeans_labels(emb, k, used, rs)
            rows.append({"index": int(i), "ncut": ncut(adj, labels), "n_nodes": int(adj.shape[0]), "n_init": used})
    return rows


def _method_rows(graph: BlockGraph, k, kind: str, method: str, settings, seed: int, indices: Sequence[int]) -> list[dict]:
    """The rows of shuffles ``indices``, each partitioned by ``method`` on its sparse adjacency."""
    from nnstructure.cluster.clustering import partition_stats
    from nnstructure.cluster.methods import FIXED_K_METHODS, partition_labels

    rows = []
    for i in indices:
        adj, cluster_seed = shuffled_adjacency(graph, kind, seed, i)
        labels = partition_labels(adj, method, k if method in FIXED_K_METHODS else None, cluster_seed, settings)
        stats = partition_stats(adj, labels)
        rows.append({"index": int(i), "ncut": ncut(adj, labels), "n_nodes": int(adj.shape[0]), "n_init": None,
                     "modularity": stats["modularity"], "n_clusters": stats["n_clusters"],
                     "size_max": stats["size_max"]})
    return rows


def shuffle_table(
    graph: BlockGraph,
    k: int | str = 12,
    n_shuffles: int = 50,
    kind: str = "layer",
    n_init: int | str = 25,
    seed: int = 0,
    n_jobs: int = 1,
    device=None,
    method: str = "spectral",
    settings=None,
) -> pd.DataFrame:
    """One row per shuffle: ``index, ncut, n_nodes, n_init, device`` (zero-degree nodes dropped first).

    ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``; ``None`` reads ``NNSTRUCTURE_DEVICE``, else auto) picks
    the batched dense GPU path on CUDA for graphs up to ``GPU_MAX_NODES`` nodes; the
    ``device`` column records where the eigenproblems were solved.

    Every shuffle is partitioned the way the network is (like with like, issue 21): by ``method``
    (:data:`nnstructure.cluster.methods.METHODS`) with its ``settings``. The spectral method clusters straight
    from the shuffled weight blocks (the fast path above); the other methods partition each shuffle's sparse
    adjacency on the CPU and add the columns ``method, modularity, n_clusters, size_max`` (``n_init``: none).
    ``k: "auto"`` is the eigengap choice on the network's own graph, used for every shuffle.
    """
    from nnstructure.cluster.methods import check_method, method_settings

    if kind not in SHUFFLE_KINDS:
        raise ValueError(f"unknown shuffle kind {kind!r}; choose one of {', '.join(SHUFFLE_KINDS)}")
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be at least 1, got {n_shuffles}")
    check_method(method)
    graph, _ = drop_isolated_nodes(graph)
    indices = list(range(n_shuffles))
    if k == "auto":
        from nnstructure.cluster.choose_k import resolve_k

        k = resolve_k("auto", graph.adjacency)
    if method != "spectral":
        s = method_settings(method, settings)
        n_jobs = _resolve_jobs(n_jobs, n_shuffles)
        chunks = [indices[j::n_jobs] for j in range(n_jobs)]
        parts = process_map(lambda chunk: _method_rows(graph, k, kind, method, s, seed, chunk), chunks, n_jobs)
        table = pd.DataFrame(sorted((r for part in parts for r in part), key=lambda r: r["index"]))
        table["device"] = "cpu"
        table["method"] = method
        return table
    device = _resolve_device(device)
    used = "cpu"
    if device is not None and device.type == "cuda" and graph.n_nodes <= GPU_MAX_NODES:
        rows = _dense_rows(graph, k, kind, n_init, seed, indices, device)
        used = str(device)
    else:
        n_jobs = _resolve_jobs(n_jobs, n_shuffles)
        chunks = [indices[j::n_jobs] for j in range(n_jobs)]
        parts = process_map(lambda chunk: _shuffle_rows(graph, k, kind, n_init, seed, chunk), chunks, n_jobs)
        rows = sorted((r for part in parts for r in part), key=lambda r: r["index"])
    table = pd.DataFrame(rows, columns=["index", "ncut", "n_nodes", "n_init"])
    table["device"] = used
    return table


def shuffled_ncuts(
    graph: BlockGraph,
    k: int,
    n_shuffles: int,
    kind: str = "layer",
    n_init: int | str = 25,
    seed: int = 0,
    n_jobs: int = 1,
    device=None,
) -> np.ndarray:
    """The n-cuts of ``n_shuffles`` shuffled copies of ``graph``, in shuffle-index order."""
    return shuffle_table(graph, k, n_shuffles, kind, n_init, seed, n_jobs, device)["ncut"].to_numpy()


def relative_clusterability(
    graph_or_model,
    k: int = 12,
    n_shuffles: int = 50,
    kind: str = "layer",
    n_init: int | str = 25,
    seed: int = 0,
    n_jobs: int = 1,
    kernel_norm: str = "l1",
    fold_batchnorm: bool = True,
    device=None,
) -> dict:
    """n-cut of a network (a :class:`BlockGraph`, an ``nn.Sequential`` or a checkpoint path) and its shuffle statistics.

    Returns ``ncut, shuffled_ncuts, shuffle_mean, shuffle_std, p_value, z_score,
    k, n_nodes, n_shuffles, n_init, shuffle`` plus ``labels`` (one per node of
    the full graph, ``-1`` for zero-degree nodes). ``n_nodes`` counts nodes after
    dropping zero-degree ones; ``n_init`` is the number of k-means starts used on
    the network's own graph.
    """
    if isinstance(graph_or_model, BlockGraph):
        full = graph_or_model
    else:
        from nnstructure.graph.weights import weight_graph

        full = weight_graph(graph_or_model, kernel_norm=kernel_norm, fold_batchnorm=fold_batchnorm)
    graph, keep = drop_isolated_nodes(full)
    used = resolve_n_init(n_init, graph.n_nodes)
    with single_threaded():
        sub_labels = spectral_clustering(graph, k, used, seed)
        observed = ncut(graph, sub_labels)
    labels = np.full(full.n_nodes, -1, dtype=np.int64)
    labels[keep] = sub_labels
    shuffled = shuffled_ncuts(graph, k, n_shuffles, kind, n_init, seed, n_jobs, device)
    return {
        "ncut": observed,
        "shuffled_ncuts": shuffled,
        **relative_clusterability_stats(observed, shuffled),
        "k": int(k),
        "n_nodes": int(graph.n_nodes),
        "n_init": used,
        "shuffle": kind,
        "labels": labels,
    }


def _resolve_jobs(n_jobs: int, n_tasks: int) -> int:
    if n_jobs is None or n_jobs == 0:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = os.cpu_count() or 1
    return max(1, min(int(n_jobs), n_tasks))


def _resolve_device(device):
    """The torch device to use, or ``None`` for the CPU (then torch is not even imported)."""
    if device is None or isinstance(device, str):
        device = device_preference(device)  # None: $NNSTRUCTURE_DEVICE, else auto
        if device == "cpu" or (device == "auto" and "torch" not in sys.modules and not _cuda_driver_present()):
            return None  # importing torch only to find no GPU costs a CPU-second per shuffles job
    import torch

    if isinstance(device, str):
        device = select_device(device)
    device = torch.device(device)
    return None if device.type == "cpu" else device


def _cuda_driver_present() -> bool:
    """Whether CUDA could be available: always off Linux; on Linux, whether an NVIDIA (or WSL GPU) driver is loaded."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg"))


def method_clusterability(graph, method: str, k=16, n_shuffles: int = 10, kind: str = "layer", seed: int = 0,
                          settings: Mapping[str, Any] | None = None, k_max: int = 32) -> dict:
    """One method's partition of ``graph`` (a :class:`~nnstructure.graph.blocks.BlockGraph`) and its quality
    against ``n_shuffles`` shuffles partitioned the same way.

    Returns ``labels`` (one per node of ``graph``, ``-1`` for zero-degree nodes), ``k`` (the fixed-k method's
    k, resolved when ``"auto"``; ``None`` for methods that find their own number), the n-cut, modularity and
    size statistics, ``seconds`` (CPU time of the partition), the shuffles' n-cuts and modularities
    (``shuffled_ncuts``, ``shuffled_modularities``, ``shuffle_clusters``: their cluster counts) and the
    comparisons ``ncut_p_value, ncut_z, ncut_shuffle_mean, modularity_p_value, modularity_z,
    modularity_shuffle_mean`` (p-values and z-scores ``nan`` without shuffles).
    """
    from nnstructure.cluster.choose_k import resolve_k
    from nnstructure.cluster.methods import FIXED_K_METHODS, check_method, method_settings, partition_labels, partition_quality

    check_method(method)
    s = method_settings(method, settings)
    sub, keep = drop_isolated_nodes(graph)
    adj = sub.adjacency
    k_used = resolve_k(k, adj, k_max) if method in FIXED_K_METHODS else None
    start = time.process_time()
    sub_labels = partition_labels(adj, method, k_used, seed, s)
    seconds = time.process_time() - start
    labels = np.full(graph.n_nodes, -1, dtype=np.int64)
    labels[keep] = sub_labels
    out = {"method": method, "k": k_used, "labels": labels, "seconds": seconds, **partition_quality(adj, sub_labels)}
    ncuts, mods, counts = [], [], []
    for index in range(int(n_shuffles)):
        shuffled, cluster_seed = shuffled_adjacency(sub, kind, seed, index)
        quality = partition_quality(shuffled, partition_labels(shuffled, method, k_used, cluster_seed, s))
        ncuts.append(quality["ncut"])
        mods.append(quality["modularity"])
        counts.append(quality["n_clusters"])
    out.update(shuffled_ncuts=ncuts, shuffled_modularities=mods, shuffle_clusters=counts, n_shuffles=len(ncuts),
               shuffle=kind)
    nan = float("nan")
    if ncuts:
        cut = relative_clusterability_stats(out["ncut"], ncuts)
        # modularity: higher is more modular, so compare its negative the way the n-cut is compared
        mod = relative_clusterability_stats(-out["modularity"], -np.asarray(mods))
        out.update(ncut_p_value=cut["p_value"], ncut_z=cut["z_score"], ncut_shuffle_mean=cut["shuffle_mean"],
                   modularity_p_value=mod["p_value"], modularity_z=-mod["z_score"],
                   modularity_shuffle_mean=-mod["shuffle_mean"], shuffle_clusters_mean=float(np.mean(counts)))
    else:
        out.update(ncut_p_value=nan, ncut_z=nan, ncut_shuffle_mean=nan, modularity_p_value=nan, modularity_z=nan,
                   modularity_shuffle_mean=nan, shuffle_clusters_mean=nan)
    return out
