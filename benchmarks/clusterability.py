"""Relative clusterability, ours against scikit-learn's dense SpectralClustering, on a pruned MLP (default),
an unpruned MLP (``--unpruned``) or a small CNN's channel graph (``--cnn``), with the floor beside both.

Networks (made here, no data needed), or a checkpoint (``--checkpoint``):

* default: a randomly initialised (Glorot-uniform, zero bias) 784-256-256-256-256-10
  MLP, magnitude-pruned per layer to 90% sparsity (1,818 nodes, ~40,000 edges);
* ``--unpruned``: the same MLP unpruned (1,818 nodes, 399,872 edges);
* ``--cnn``: the thesis's small CNN (three 3x3 convs of 64 channels, MNIST input)
  at Keras initialisation: its channel graph (192 nodes, 8,192 edges);
* ``--trained EPOCHS``: the MLP trained on MNIST (``--data-dir``) by the library
  (``train_from_settings``, as ``nnstructure train``) for EPOCHS epochs and EPOCHS
  pruning epochs to 90% sparsity; the pruned network, or with ``--unpruned`` the
  network at the end of the unpruned epochs.

Every side clusters exactly the same graphs, the network and its ``--shuffles``
layer shuffles (zero-degree nodes dropped, shuffle i seeded from (seed, i)):

* ours: ``relative_clusterability`` (bipartite graphs: top eigenvectors from the
  biadjacency's Gram matrix; k-means with vectorised k-means++ seeding and
  scikit-learn's Lloyd; single-threaded; ``--jobs`` forked processes);
* reference: ``sklearn.cluster.SpectralClustering(n_clusters=12,
  affinity='precomputed', eigen_solver='arpack', n_init=25, random_state=...)``
  on each graph's DENSE adjacency, one after another, 1 thread;
* floor: per graph, one ARPACK solve (``eigsh``, tol 0) for the k top eigenvectors
  of the sparse normalized adjacency (the k smallest of the normalized
  Laplacian), or LOBPCG, whichever is faster, plus ``sklearn.cluster.KMeans(k,
  n_init=25)`` on that embedding: what a straightforward sparse implementation
  costs.

Times are CPU seconds of one process with one thread (``time.process_time``),
the fastest of ``--repeats`` for ours, so the ratios hold on a loaded machine;
wall times are printed too. Samples are graphs.

    .venv/bin/python benchmarks/clusterability.py [--unpruned | --cnn] [--trained EPOCHS] [--shuffles 50] [--jobs 2]
        [--repeats 3] [--checkpoint model.pt]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans, SpectralClustering
from threadpoolctl import threadpool_limits
from torch import nn

from nnstructure.cluster import ncut, relative_clusterability
from nnstructure.cluster.relative import shuffled_adjacency
from nnstructure.cluster.spectral import as_csr, degrees, normalized_adjacency
from nnstructure.graph import drop_isolated_nodes, weight_graph

SIZES = [784, 256, 256, 256, 256, 10]
K = 12
N_INIT = 25


def random_mlp(sparsity: float = 0.9, seed: int = 0) -> nn.Sequential:
    """Glorot-uniform MLP, each layer magnitude-pruned to ``sparsity`` (0: unpruned)."""
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        lin = nn.Linear(a, b)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        if sparsity > 0:
            with torch.no_grad():
                w = lin.weight
                threshold = w.abs().flatten().kthvalue(int(sparsity * w.numel())).values
                w[w.abs() <= threshold] = 0
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def small_cnn(seed: int = 0) -> nn.Sequential:
    from nnstructure.models import build_model, model_spec

    return build_model(model_spec("cnn", [1, 28, 28], 10), seed=seed)


def trained_mlp(epochs: int, data_dir: str, unpruned: bool, seed: int = 0):
    """Checkpoint path of a 4x256 MLP trained on MNIST for ``epochs`` (+ ``epochs`` pruning epochs)."""
    import tempfile
    from pathlib import Path

    from nnstructure.data import make_dataset
    from nnstructure.train.loop import train_from_settings

    folder = Path(tempfile.mkdtemp(prefix="clusterability-bench-"))
    out, before = folder / "final.pt", folder / "unpruned.pt"
    train_from_settings(make_dataset("mnist", data_dir, seed=seed), "mlp", {"epochs": epochs, "prune_epochs": epochs},
                        seed, out, unpruned_out=before, device="cpu", progress=False)
    return before if unpruned else out


def benchmark_graphs(graph, n_shuffles: int, seed: int) -> list[tuple]:
    """``(adjacency, clustering seed)`` of the network (zero-degree nodes dropped) and of each shuffle."""
    graph, _ = drop_isolated_nodes(graph)
    return [(graph.adjacency, seed)] + [shuffled_adjacency(graph, "layer", seed, i) for i in range(n_shuffles)]


def reference(graphs) -> np.ndarray:
    """n-cuts from sklearn's SpectralClustering on dense adjacencies, serially."""
    out = []
    for adj, rs_seed in graphs:
        labels = SpectralClustering(n_clusters=K, affinity="precomputed", eigen_solver="arpack", n_init=N_INIT,
                                    random_state=rs_seed).fit(adj.toarray()).labels_
        out.append(ncut(adj, labels))
    return np.array(out)


def floor(graphs) -> dict:
    """CPU seconds per graph of one ARPACK (or LOBPCG) solve and of KMeans(n_init=25), summed over the graphs."""
    from scipy.sparse.linalg import eigsh, lobpcg

    arpack = lob = km = 0.0
    for adj, rs_seed in graphs:
        a = as_csr(adj)
        deg = degrees(a)
        rs = np.random.RandomState(rs_seed)
        t = time.process_time()
        norm = normalized_adjacency(a, deg)
        _, vectors = eigsh(norm, k=K, which="LA", v0=rs.uniform(-1, 1, a.shape[0]), tol=0)
        arpack += time.process_time() - t
        t = time.process_time()
        norm = normalized_adjacency(a, deg)
        with warnings.catch_warnings():  # LOBPCG warns when it stops short of tol
            warnings.simplefilter("ignore")
            lobpcg(norm, rs.uniform(-1, 1, (a.shape[0], K)), largest=True, tol=1e-8, maxiter=500)
        lob += time.process_time() - t
        embedding = vectors / np.sqrt(deg)[:, None]
        t = time.process_time()
        KMeans(K, n_init=N_INIT, random_state=rs).fit(embedding)
        km += time.process_time() - t
    n = len(graphs)
    return {"arpack": arpack / n, "lobpcg": lob / n, "kmeans": km / n, "total": (min(arpack, lob) + km) / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--unpruned", action="store_true", help="the unpruned 4x256 MLP instead of the pruned one")
    which.add_argument("--cnn", action="store_true", help="the small CNN's channel graph instead of the pruned MLP")
    which.add_argument("--checkpoint", help="a network checkpoint (MLP or CNN) instead of the random networks")
    parser.add_argument("--trained", type=int, metavar="EPOCHS", help="train the MLP on MNIST for EPOCHS (+ EPOCHS pruning) epochs")
    parser.add_argument("--data-dir", default="data", help="folder with mnist/ (for --trained)")
    parser.add_argument("--shuffles", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2, help="processes for ours' multi-process run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours; the fastest counts")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (ARPACK/LOBPCG + KMeans) measurement")
    args = parser.parse_args()

    if args.trained and args.cnn:
        parser.error("--trained trains the MLP; the CNN is benchmarked at initialisation")
    if args.checkpoint:
        graph, source = weight_graph(args.checkpoint), f"checkpoint {args.checkpoint}"
    elif args.trained:
        graph = weight_graph(trained_mlp(args.trained, args.data_dir, args.unpruned))
        source = (f"4x256 MLP trained on MNIST for {args.trained} epochs"
                  + ("" if args.unpruned else f" and {args.trained} pruning epochs to 90% sparsity"))
    elif args.unpruned:
        graph, source = weight_graph(random_mlp(0.0)), "random Glorot-uniform 4x256 MLP, unpruned"
    elif args.cnn:
        graph, source = weight_graph(small_cnn()), "small CNN (3 convs of 64 channels) at Keras initialisation, channel graph"
    else:
        graph, source = weight_graph(random_mlp(0.9)), "random Glorot-uniform 4x256 MLP, per-layer magnitude pruning to 90% sparsity"
    n_graphs = args.shuffles + 1
    print(f"network: {source}; {graph.n_nodes} nodes, {graph.adjacency.nnz // 2} edges; {n_graphs} graphs "
          f"(the network and {args.shuffles} layer shuffles); {os.cpu_count()} CPUs; CPU times: one process, one thread")

    runs = {}
    for jobs in sorted({1, args.jobs}):
        walls, cpus = [], []
        for _ in range(args.repeats):
            t, c, ch = time.perf_counter(), time.process_time(), os.times()
            runs[jobs] = relative_clusterability(graph, k=K, n_shuffles=args.shuffles, n_init=N_INIT, seed=args.seed,
                                                 n_jobs=jobs, device="cpu")
            walls.append(time.perf_counter() - t)
            end = os.times()
            cpus.append(time.process_time() - c + (end.children_user - ch.children_user) + (end.children_system - ch.children_system))
        runs[jobs]["time"], runs[jobs]["cpu"] = min(walls), min(cpus)
        r = runs[jobs]
        print(f"ours, {jobs} process(es): wall {r['time']:7.2f} s, CPU {r['cpu']:7.2f} s = {r['cpu'] / n_graphs:.4f} s/graph, "
              f"{n_graphs / r['cpu']:.1f} graphs per CPU-second; n-cut {r['ncut']:.4f}, shuffles {r['shuffle_mean']:.4f} +- {r['shuffle_std']:.4f}")

    if torch.cuda.is_available():
        t = time.perf_counter()
        gpu = relative_clusterability(graph, k=K, n_shuffles=args.shuffles, n_init=N_INIT, seed=args.seed, device="cuda")
        gpu_time = time.perf_counter() - t
        same = np.isclose(gpu["shuffled_ncuts"], runs[1]["shuffled_ncuts"], rtol=1e-9).sum()
        print(f"ours, GPU eigh ({torch.cuda.get_device_name()}): {gpu_time:7.2f} s  shuffles {gpu['shuffle_mean']:.4f}; {same}/{args.shuffles} equal to CPU")

    graphs = benchmark_graphs(graph, args.shuffles, args.seed)
    with threadpool_limits(1):
        t, c = time.perf_counter(), time.process_time()
        ref = reference(graphs)
        ref_time, ref_cpu = time.perf_counter() - t, time.process_time() - c
        fl = None if args.no_floor else floor(graphs)
    ref_observed, ref_shuffled = ref[0], ref[1:]
    print(f"reference (sklearn, dense, serial, 1 thread): wall {ref_time:7.2f} s, CPU {ref_cpu:7.2f} s = {ref_cpu / n_graphs:.4f} s/graph, "
          f"{n_graphs / ref_cpu:.1f} graphs per CPU-second; n-cut {ref_observed:.4f}, shuffles {ref_shuffled.mean():.4f} +- {ref_shuffled.std():.4f}")
    ours_per_graph = runs[1]["cpu"] / n_graphs
    if fl is not None:
        print(f"floor per graph (1 thread): ARPACK {fl['arpack']:.4f} s (LOBPCG {fl['lobpcg']:.4f} s) + KMeans(n_init=25) "
              f"{fl['kmeans']:.4f} s = {fl['total']:.4f} s, {1 / fl['total']:.1f} graphs per CPU-second; "
              f"ours per graph = {ours_per_graph / fl['total']:.2f} x floor")

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
