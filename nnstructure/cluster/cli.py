"""``nnstructure clusterability | graph | cluster | shuffles``: chapter 3 on any network.

``clusterability`` does everything for one checkpoint; ``graph``, ``cluster`` and
``shuffles`` are the workflow's separate steps (graph -> labels + n-cut, graph ->
shuffled n-cuts), whose outputs ``relative_clusterability_stats`` combines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nnstructure.cluster.methods import LEIDEN_OBJECTIVES, METHODS
from nnstructure.cluster.shuffle import SHUFFLE_KINDS
from nnstructure.graph.kernel_norms import KERNEL_NORMS
from nnstructure.network_io import ACCEPTED_FORMATS, add_allow_pickle_option, load_sequential


def _int_or_auto(text: str, option: str, minimum: int, what: str) -> int | str:
    """An integer of at least ``minimum`` or ``auto`` (an argparse type), with one message naming ``option``."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option} must be {what} or 'auto', got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{option} must be {what} or 'auto', got {value}")
    return value


def _n_init(text: str) -> int | str:
    return _int_or_auto(text, "--n-init", 1, "a positive integer")


def add_n_init_option(parser: argparse.ArgumentParser) -> None:
    """``--n-init``: the k-means starts of the spectral clustering (every command that clusters)."""
    parser.add_argument("--n-init", type=_n_init, default=25, help="k-means starts, or 'auto' (25; 100 above 2000 nodes)")


def add_graph_options(p: argparse.ArgumentParser) -> None:
    """How a CNN's weight graph weighs its edges (every command that builds a weight graph)."""
    p.add_argument("--kernel-norm", choices=KERNEL_NORMS, default="l1", help="CNN edge weight from a 2-D kernel slice (default l1: sum of |k|)")
    p.add_argument("--no-fold-batchnorm", dest="fold_batchnorm", action="store_false", help="ignore BatchNorm scales")


def _cluster_options(p: argparse.ArgumentParser, seed_help: str, k_auto: bool = False) -> None:
    if k_auto:
        p.add_argument("--k", type=k_or_auto, default=12,
                       help="number of clusters of the spectral method (default 12), or auto: the eigengap choice")
    else:
        p.add_argument("--k", type=int, default=12, help="number of clusters (default 12)")
    add_n_init_option(p)
    p.add_argument("--seed", type=int, default=0, help=seed_help)


def k_or_auto(text: str) -> int | str:
    """``--k``: an integer of at least 2, or ``auto`` (chosen from the graph's eigengap)."""
    return _int_or_auto(text, "--k", 2, "an integer of at least 2")


def add_method_options(p: argparse.ArgumentParser) -> None:
    """``--method`` and the settings of the methods that take them (issue 21's partition methods)."""
    p.add_argument("--method", choices=METHODS, default="spectral",
                   help="partition method: spectral (the thesis's, k clusters; default), leiden or louvain "
                        "(modularity), infomap (map equation); the last three find their own number of clusters")
    p.add_argument("--resolution", type=float,
                   help="leiden and louvain: modularity resolution (default 1; higher: more, smaller communities)")
    p.add_argument("--objective", choices=LEIDEN_OBJECTIVES, help="leiden: modularity (default) or cpm")


def method_options(args) -> dict:
    """The ``--method``'s settings given on the command line (the spectral method's is ``--n-init``)."""
    given = {"resolution": args.resolution, "objective": args.objective}
    if args.method == "spectral":
        given["n_init"] = args.n_init
    from nnstructure.cluster.methods import method_settings

    return method_settings(args.method, {key: value for key, value in given.items() if value is not None})


def _shuffle_options(p: argparse.ArgumentParser, count_help: str) -> None:
    """``--n-shuffles N --kind KIND`` (the same spelling in ``clusterability`` and ``shuffles``); ``clusterability``'s
    former ``--shuffles``/``--shuffle`` still work, as hidden deprecated aliases."""
    from nnstructure.cli import add_deprecated_alias

    p.add_argument("--n-shuffles", type=int, default=50, help=count_help)
    p.add_argument("--kind", choices=SHUFFLE_KINDS, default="layer",
                   help="shuffle kind: layer shuffles all entries of each layer's weight matrix (the thesis's); "
                        "nonzero shuffles only the nonzero entries, keeping the topology (default layer)")
    add_deprecated_alias(p, "--shuffles", "--n-shuffles")
    add_deprecated_alias(p, "--shuffle", "--kind")


def _jobs_option(p: argparse.ArgumentParser) -> None:
    """``--jobs``: worker processes for the shuffles (``--threads``, its former name, is a deprecated alias:
    elsewhere ``--threads`` means torch threads)."""
    from nnstructure.cli import add_deprecated_alias

    p.add_argument("--jobs", type=int, default=1, help="worker processes to spread the shuffles over (default 1)")
    add_deprecated_alias(p, "--threads", "--jobs")


def register(subparsers) -> None:
    p = subparsers.add_parser("clusterability", help="n-cut of a network and its relative clusterability against shuffles")
    p.add_argument("checkpoint", help=f"network file ({ACCEPTED_FORMATS}), or a graph .npz from `nnstructure graph`")
    add_allow_pickle_option(p)
    _cluster_options(p, "seed of the clustering and of the shuffles", k_auto=True)
    add_method_options(p)
    _shuffle_options(p, "number of shuffled networks (default 50)")
    add_graph_options(p)
    _jobs_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="write one Parquet row with the results and settings")
    p.set_defaults(func=_clusterability)

    p = subparsers.add_parser("graph", help="weight graph of a network (.npz)")
    p.add_argument("checkpoint", help=f"network file: {ACCEPTED_FORMATS}")
    add_allow_pickle_option(p)
    add_graph_options(p)
    p.add_argument("--out", required=True, help="graph file to write (.npz)")
    p.set_defaults(func=_graph)

    p = subparsers.add_parser("cluster", help="partition a graph (spectral clustering by default): labels table with "
                                              "the n-cut, modularity and cluster sizes in its metadata")
    p.add_argument("graph", help="graph .npz from `nnstructure graph`")
    _cluster_options(p, "clustering seed", k_auto=True)
    add_method_options(p)
    p.add_argument("--out", required=True, help="labels table (Parquet: layer, layer_name, unit, label)")
    p.add_argument("--summary", help="also write the summary (ncut, n_nodes, k, n_init, seed) as JSON here")
    p.set_defaults(func=_cluster)

    p = subparsers.add_parser("shuffles", help="n-cuts of shuffled copies of a graph, each partitioned by the method")
    p.add_argument("graph", help="graph .npz from `nnstructure graph`")
    _cluster_options(p, "seed: shuffle i uses SeedSequence([seed, i])", k_auto=True)
    add_method_options(p)
    _shuffle_options(p, "number of shuffled copies of the graph (default 50)")
    _jobs_option(p)
    p.add_argument("--out", required=True, help="table to write (Parquet: index, ncut, n_nodes, n_init)")
    p.set_defaults(func=_shuffles)


def _load_network_graph(path: str, kernel_norm: str, fold_batchnorm: bool, allow_pickle: bool = False):
    from nnstructure.graph import load_graph, weight_graph

    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist; train the network first or check the path")
    if path.endswith(".npz"):
        return load_graph(path)
    model, _ = load_sequential(path, allow_pickle=allow_pickle)
    return weight_graph(model, kernel_norm=kernel_norm, fold_batchnorm=fold_batchnorm)


def _clusterability(args) -> int:
    import pandas as pd

    from nnstructure.cluster.relative import relative_clusterability
    from nnstructure.io import write_parquet

    graph = _load_network_graph(args.checkpoint, args.kernel_norm, args.fold_batchnorm, args.allow_pickle)
    options = method_options(args)
    if args.method != "spectral" or args.k == "auto":
        return _clusterability_by_method(args, graph, options)
    res = relative_clusterability(
        graph, k=args.k, n_shuffles=args.n_shuffles, kind=args.kind, n_init=args.n_init, seed=args.seed, n_jobs=args.jobs
    )
    keys = ("ncut", "shuffle_mean", "shuffle_std", "p_value", "z_score", "k", "n_nodes", "n_shuffles")
    if args.json:
        print(json.dumps({key: res[key] for key in keys}))
    else:
        print(f"n-cut {res['ncut']:.4f} on {res['n_nodes']} nodes (k={res['k']}, n_init={res['n_init']})")
        print(
            f"{res['n_shuffles']} {res['shuffle']} shuffles: {res['shuffle_mean']:.4f} +- {res['shuffle_std']:.4f}; "
            f"p = {res['p_value']:.4f}, z = {res['z_score']:.2f}"
        )
    if args.out:
        row = {key: res[key] for key in keys}
        row.update(
            checkpoint=str(args.checkpoint), n_init=res["n_init"], shuffle=res["shuffle"], seed=args.seed,
            kernel_norm=graph.meta.get("kernel_norm", args.kernel_norm),
            fold_batchnorm=bool(graph.meta.get("fold_batchnorm", args.fold_batchnorm)), kind=graph.meta.get("kind", ""),
        )
        write_parquet(pd.DataFrame([row]), args.out)
    return 0


def _clusterability_by_method(args, graph, options: dict) -> int:
    """``clusterability --method M`` or ``--k auto``: the method's partition, its n-cut and modularity against
    the same method on the shuffles (:func:`nnstructure.cluster.relative.method_clusterability`)."""
    import pandas as pd

    from nnstructure.cluster.relative import method_clusterability
    from nnstructure.io import write_parquet

    res = method_clusterability(graph, args.method, args.k, args.n_shuffles, args.kind, args.seed, options)
    keys = ("method", "ncut", "ncut_shuffle_mean", "ncut_p_value", "ncut_z", "modularity", "modularity_shuffle_mean",
            "modularity_p_value", "modularity_z", "n_clusters", "k", "size_min", "size_max", "n_shuffles", "seconds")
    row = {key: res[key] for key in keys}
    if args.json:
        print(json.dumps(row))
    else:
        k_text = f"k={res['k']}" if res["k"] is not None else "its own number of clusters"
        print(f"{args.method} ({k_text}): {res['n_clusters']} clusters, n-cut {res['ncut']:.4f}, "
              f"modularity {res['modularity']:.4f}")
        if res["n_shuffles"]:
            print(f"{res['n_shuffles']} {args.kind} shuffles, same method: n-cut {res['ncut_shuffle_mean']:.4f} "
                  f"(p = {res['ncut_p_value']:.4f}, z = {res['ncut_z']:.2f}); modularity {res['modularity_shuffle_mean']:.4f} "
                  f"(p = {res['modularity_p_value']:.4f}, z = {res['modularity_z']:.2f})")
    if args.out:
        row.update(checkpoint=str(args.checkpoint), shuffle=args.kind, seed=args.seed, k_setting=str(args.k),
                   method_settings=json.dumps(options, sort_keys=True),
                   kernel_norm=graph.meta.get("kernel_norm", args.kernel_norm),
                   fold_batchnorm=bool(graph.meta.get("fold_batchnorm", args.fold_batchnorm)), kind=graph.meta.get("kind", ""))
        frame = pd.DataFrame([row])
        frame["k"] = frame["k"].astype("Int64")
        write_parquet(frame, args.out)
    return 0


def _graph(args) -> int:
    from nnstructure.graph import save_graph, weight_graph

    model, _ = load_sequential(args.checkpoint, allow_pickle=args.allow_pickle)
    graph = weight_graph(model, kernel_norm=args.kernel_norm, fold_batchnorm=args.fold_batchnorm)
    save_graph(graph, args.out)
    print(f"{graph.meta['kind']} graph: {graph.n_nodes} nodes in {len(graph.layer_sizes)} layers -> {args.out}", file=sys.stderr)
    return 0


def _cluster(args) -> int:
    from nnstructure.cluster.clustering import cluster_graph
    from nnstructure.cluster.labels_table import write_cluster_labels
    from nnstructure.graph import load_graph
    from nnstructure.io import write_json

    graph = load_graph(args.graph)
    options = method_options(args) if args.method != "spectral" else None  # spectral: --n-init
    labels, summary = cluster_graph(graph, args.k, args.n_init, args.seed, method=args.method, settings=options)
    write_cluster_labels(graph, labels, summary, args.out)
    if args.summary:
        write_json(summary, args.summary)
    print(json.dumps(summary), file=sys.stderr)
    return 0


def _shuffles(args) -> int:
    from nnstructure.cluster.relative import shuffle_table
    from nnstructure.graph import load_graph
    from nnstructure.io import write_parquet

    graph = load_graph(args.graph)
    options = method_options(args) if args.method != "spectral" else None  # spectral: --n-init
    table = shuffle_table(graph, args.k, args.n_shuffles, args.kind, args.n_init, args.seed, n_jobs=args.jobs,
                          method=args.method, settings=options)
    write_parquet(table, args.out)
    print(f"{len(table)} {args.kind} shuffles by {args.method}: mean n-cut {table['ncut'].mean():.4f} -> {args.out}", file=sys.stderr)
    return 0
