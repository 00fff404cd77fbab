"""Relative clusterability of a pruned 784-256-256-256-256-10 MLP: ours vs scikit-learn on dense matrices.

The network is a trained checkpoint if ``--checkpoint`` is given, otherwise a
randomly initialised (Glorot-uniform, zero bias) MLP magnitude-pruned per layer
to 90% sparsity. Both sides cluster exactly the same graphs (the network and its
``--shuffles`` layer shuffles, zero-degree nodes dropped, shuffle i seeded from
(seed, i)):

* ours: ``relative_clusterability`` (sparse ARPACK for the largest eigenvalues
  of D^-1/2 A D^-1/2, sklearn's k-means with vectorised k-means++ seeding,
  shuffles spread over ``--jobs`` processes; on a CUDA machine also the batched
  ``torch.linalg.eigh`` path);
* reference: ``sklearn.cluster.SpectralClustering(n_clusters=12,
  affinity='precomputed', eigen_solver='arpack', n_init=25, random_state=...)``
  on each graph's DENSE adjacency, one after another.

Prints both wall times, their ratio, and whether the shuffled n-cut distributions
agree (means within two standard errors).

    .venv/bin/python benchmarks/clusterability.py [--shuffles 50] [--jobs 2] [--repeats 3] [--checkpoint model.pt]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.cluster import SpectralClustering
from threadpoolctl import threadpool_limits
from torch import nn

from nnstructure.cluster import ncut, relative_clusterability
from nnstructure.cluster.relative import shuffled_adjacency
from nnstructure.graph import drop_isolated_nodes, weight_graph

SIZES = [784, 256, 256, 256, 256, 10]


def pruned_random_mlp(sparsity: float = 0.9, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        lin = nn.Linear(a, b)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        with torch.no_grad():
            w = lin.weight
            threshold = w.abs().flatten().kthvalue(int(sparsity * w.numel())).values
            w[w.abs() <= threshold] = 0
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def reference(graph, n_shuffles: int, seed: int) -> tuple[float, np.ndarray]:
    """sklearn SpectralClustering on dense adjacencies, serially, on the same graphs as ours."""
    def cluster(adj, rs_seed):
        dense = adj.toarray()
        labels = SpectralClustering(
            n_clusters=12, affinity="precomputed", eigen_solver="arpack", n_init=25, random_state=rs_seed
        ).fit(dense).labels_
        return ncut(adj, labels)

    graph, _ = drop_isolated_nodes(graph)
    observed = cluster(graph.adjacency, seed)
    shuffled = [cluster(*shuffled_adjacency(graph, "layer", seed, i)) for i in range(n_shuffles)]
    return observed, np.array(shuffled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours; the fastest counts")
    parser.add_argument("--checkpoint", help="trained MLP checkpoint; default: random Glorot MLP pruned to 90%%")
    args = parser.parse_args()

    if args.checkpoint:
        graph = weight_graph(args.checkpoint)
        source = f"checkpoint {args.checkpoint}"
    else:
        graph = weight_graph(pruned_random_mlp())
        source = "random Glorot-uniform 4x256 MLP, per-layer magnitude pruning to 90% sparsity"
    print(f"network: {source}; {graph.n_nodes} nodes, {graph.adjacency.nnz // 2} edges; {os.cpu_count()} CPUs")

    # The machine may be shared: report the best of --repeats wall times and the process CPU time.
    runs = {}
    for jobs in sorted({1, args.jobs}):
        walls, cpus = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            runs[jobs] = relative_clusterability(graph, k=12, n_shuffles=args.shuffles, n_init=25, seed=args.seed, n_jobs=jobs, device="cpu")
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        runs[jobs]["time"], runs[jobs]["cpu"] = min(walls), min(cpus)
        cpu_note = f" (CPU {runs[jobs]['cpu']:.2f} s)" if jobs == 1 else ""
        print(f"ours, {jobs} process(es):   {runs[jobs]['time']:7.2f} s{cpu_note}  n-cut {runs[jobs]['ncut']:.4f}, shuffles {runs[jobs]['shuffle_mean']:.4f} +- {runs[jobs]['shuffle_std']:.4f}")

    if torch.cuda.is_available():
        t = time.perf_counter()
        gpu = relative_clusterability(graph, k=12, n_shuffles=args.shuffles, n_init=25, seed=args.seed, device="cuda")
        gpu_time = time.perf_counter() - t
        same = np.isclose(gpu["shuffled_ncuts"], runs[1]["shuffled_ncuts"], rtol=1e-9).sum()
        print(f"ours, GPU eigh ({torch.cuda.get_device_name()}): {gpu_time:7.2f} s  shuffles {gpu['shuffle_mean']:.4f}; {same}/{args.shuffles} equal to CPU")

    with threadpool_limits(1):
        t, c = time.perf_counter(), time.process_time()
        ref_observed, ref_shuffled = reference(graph, args.shuffles, args.seed)
        ref_time, ref_cpu = time.perf_counter() - t, time.process_time() - c
    print(f"reference (sklearn, dense, serial, 1 thread): {ref_time:7.2f} s (CPU {ref_cpu:.2f} s)  n-cut {ref_observed:.4f}, shuffles {ref_shuffled.mean():.4f} +- {ref_shuffled.std():.4f}")

    ours = runs[args.jobs]
    print(f"speed-up, CPU time of one process: {ref_cpu / runs[1]['cpu']:.1f}x")
    for jobs, run in runs.items():
        print(f"speed-up, wall time with {jobs} process(es): {ref_time / run['time']:.1f}x")
    se = np.sqrt(ours["shuffled_ncuts"].var(ddof=1) / args.shuffles + ref_shuffled.var(ddof=1) / args.shuffles)
    diff = abs(ours["shuffle_mean"] - ref_shuffled.mean())
    print(f"shuffle means differ by {diff:.2e} (2 s.e. = {2 * se:.2e}): {'AGREE' if diff <= 2 * se else 'DISAGREE'}")
    same = np.isclose(ours["shuffled_ncuts"], ref_shuffled, rtol=1e-9).sum()
    print(f"identical shuffle n-cuts: {same}/{args.shuffles}; observed n-cut equal: {np.isclose(ours['ncut'], ref_observed, rtol=1e-9)}")


if __name__ == "__main__":
    main()
