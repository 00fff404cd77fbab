"""``nnstructure partition | subcluster-proxy | specialization-stats | specialization``: chapter 4 on any network.

The first three are the workflow's steps (one job per network x partitioning x
k, one per network x partitioning x k x proxy, one aggregation); the last does
everything for one checkpoint and prints the statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from nnstructure.cluster.cli import add_graph_options, add_n_init_option
from nnstructure.cluster.layerwise import LAYER_SCOPES
from nnstructure.specialization.choices import (
    DEFAULT_VALIDATION_SIZE,
    OBJECTIVES,
    PARAMETERIZATIONS,
    PARTITIONINGS,
    PROXIES,
    RANDOM_POOLS,
    TRANSFORMS,
    VIS_METHODS,
)
from nnstructure.specialization.statistics import CLASS_RANGE_DEFINITIONS, METRICS
from nnstructure.stats.percentile import TIE_RULES


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="dataset artifact (.npz from `nnstructure dataset`) the network was trained on")
    p.add_argument("--data-dir", help="folder with the real datasets: build the checkpoint's dataset from it instead of --dataset")
    p.add_argument("--device", default=None, help="auto (default: CUDA when available), cpu or cuda")


def _partition_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=16, help="number of network-wide clusters (thesis: 16; ImageNet 32)")
    add_n_init_option(p)
    p.add_argument("--validation-size", type=_positive, default=DEFAULT_VALIDATION_SIZE,
                   help="training inputs the activation graph is computed on (default 5000, as the original code)")
    add_graph_options(p)
    p.add_argument("--layer-scope", choices=LAYER_SCOPES, default="adjacent",
                   help="layer-wise clustering on the layer and its neighbours (thesis) or on the layer alone "
                        "(the original code's activation graphs)")


def _proxy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-random", type=_positive, default=19, help="random subclusters per true one (default 19)")
    p.add_argument("--random-pool", choices=RANDOM_POOLS, default="all",
                   help="draw random subclusters from all units of the layer (thesis) or those with edges (original lesions)")
    p.add_argument("--vis-method", choices=VIS_METHODS, default="thesis",
                   help="thesis: pixels, 100 steps, L1 objective; original: Lucid's Fourier/decorrelated image, 64 steps")
    p.add_argument("--vis-parameterization", choices=PARAMETERIZATIONS, help="override the method's image parameterisation")
    p.add_argument("--vis-steps", type=_positive, help="override the method's number of Adam steps")
    p.add_argument("--vis-lr", type=float, help="override the Adam learning rate (default 0.05)")
    p.add_argument("--vis-transforms", choices=TRANSFORMS, help="override the random transformations")
    p.add_argument("--vis-objective", choices=OBJECTIVES, help="override the objective (l1: sum |a|; abs-mean: |mean a|)")
    p.add_argument("--vis-max-batch", type=_positive, help="at most this many images per optimisation batch")
    p.add_argument("--condition", help="name of the network set the checkpoint belongs to (default: ARCH-DATASET)")
    p.add_argument("--replicate", help="replicate id within the condition (default: the checkpoint's training seed)")


def _stats_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ties", choices=TIE_RULES, default="strict",
                   help="percentile ties: strict (original code: a tie ranks the true subcluster as more specialised) or mid")
    p.add_argument("--alpha", type=float, default=0.05, help="Benjamini-Hochberg false discovery rate (default 0.05)")
    p.add_argument("--family-class-range", choices=tuple(CLASS_RANGE_DEFINITIONS), default="raw",
                   help="class-range definition entering the BH family: raw (thesis text) or normalized (original code)")


def register(subparsers) -> None:
    from nnstructure.network_io import add_allow_pickle_option

    p = subparsers.add_parser("partition", help="cluster a network's weight or activation graph, network-wide or layer-wise")
    p.add_argument("checkpoint")
    p.add_argument("--partitioning", choices=PARTITIONINGS, required=True)
    add_allow_pickle_option(p)
    p.add_argument("--seed", type=int, default=0, help="clustering seed (and of the activation validation split)")
    _partition_options(p)
    p.add_argument("--network-labels", help="(layer-wise only) the network-wide partition of the same graph, to reuse its k per layer")
    _data_options(p)
    p.add_argument("--graph", help="also write the clustered graph here (.npz)")
    p.add_argument("--out", required=True, help="labels table (Parquet: layer, layer_name, unit, label; summary in metadata)")
    p.set_defaults(func=_partition)

    p = subparsers.add_parser("subcluster-proxy", help="lesion or visualise every subcluster of a partition and its random controls")
    p.add_argument("checkpoint")
    p.add_argument("--labels", required=True, help="partition from `nnstructure partition`")
    add_allow_pickle_option(p)
    p.add_argument("--proxy", choices=PROXIES, required=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the random subclusters and of the visualisations")
    _proxy_options(p)
    _data_options(p)
    p.add_argument("--images", help="(visualization) also write the true and first random images as Parquet here")
    p.add_argument("--n-saved-random", type=int, default=1, help="random images saved per subcluster with --images (default 1)")
    p.add_argument("--out", required=True, help="results table (Parquet: one row per subcluster x true/random index)")
    p.set_defaults(func=_subcluster_proxy)

    p = subparsers.add_parser("specialization-stats", help="Fisher statistics, Bates-combined p-values, BH and effect measures")
    p.add_argument("results", nargs="+", help="results tables from `nnstructure subcluster-proxy`")
    _stats_options(p)
    p.add_argument("--per-network", help="also write the per-network statistics here (Parquet)")
    p.add_argument("--percentiles", help="also write every true subcluster's percentile here (Parquet)")
    p.add_argument("--out", required=True, help="combined statistics (Parquet: one row per condition x metric)")
    p.set_defaults(func=_stats)

    p = subparsers.add_parser("specialization", help="importance and coherence of one network's subclusters (chapter 4)")
    p.add_argument("checkpoint")
    p.add_argument("--partitioning", choices=PARTITIONINGS, default="weight-network")
    add_allow_pickle_option(p)
    p.add_argument("--proxies", default="lesion,visualization", help="comma-separated: lesion, visualization")
    p.add_argument("--seed", type=int, default=0)
    _partition_options(p)
    _proxy_options(p)
    _stats_options(p)
    _data_options(p)
    p.add_argument("--results", help="also write the results table (Parquet)")
    p.add_argument("--out", help="write the statistics (Parquet: one row per metric)")
    p.add_argument("--json", action="store_true", help="print one JSON object: per metric fisher, p_value, effect, effect_se, n_subclusters")
    p.set_defaults(func=_specialization)


def _load(checkpoint: str, allow_pickle: bool = False):
    """Our checkpoint, or a network made elsewhere (TorchScript, a state dict of a plain stack, a pickled
    module with --allow-pickle) read by :func:`nnstructure.network_io.load_sequential`."""
    from nnstructure.checkpoint import Checkpoint
    from nnstructure.network_io import load_sequential

    if not Path(checkpoint).exists():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist; train the network first (`nnstructure train ... --out {checkpoint}`)")
    model, metadata = load_sequential(checkpoint, allow_pickle=allow_pickle)
    return Checkpoint(model=model.eval(), metadata=metadata, path=Path(checkpoint))


def _dataset(args, ck):
    """The dataset the checkpoint was trained on, from --dataset or --data-dir; checked against the model
    (its spec, then one forward pass)."""
    import math

    from nnstructure.data import load_dataset, make_dataset
    from nnstructure.network_io import check_network_inputs

    metadata = ck.metadata
    name = metadata.get("dataset")
    if args.dataset:
        if not Path(args.dataset).exists():
            raise FileNotFoundError(
                f"dataset {args.dataset} does not exist; build it with `nnstructure dataset {name or 'NAME'} --data-dir DIR --out {args.dataset}`"
            )
        ds = load_dataset(args.dataset)
    elif args.data_dir:
        if not name:
            raise ValueError("the checkpoint does not record its dataset; pass --dataset DATA.npz")
        ds = make_dataset(name, args.data_dir)
    else:
        raise ValueError(f"this step needs the network's dataset{f' ({name})' if name else ''}: pass --dataset DATA.npz or --data-dir DIR")
    if name and ds.name != name:
        raise ValueError(f"the network was trained on {name!r} but the dataset given is {ds.name!r}")
    spec = metadata.get("spec")  # networks made elsewhere carry no spec: their first forward pass will tell
    if spec and (spec["n_outputs"] != ds.n_outputs or math.prod(spec["input_shape"]) != math.prod(ds.input_shape)):
        raise ValueError(
            f"dataset {ds.name!r} (inputs {list(ds.input_shape)}, {ds.n_outputs} outputs) does not fit the network "
            f"(inputs {spec['input_shape']}, {spec['n_outputs']} outputs)"
        )
    check_network_inputs(ck.model, ds.x_train, f"dataset {ds.name!r}", metadata)
    return ds


def network_label(metadata: dict) -> str:
    """The thesis's name of the network a checkpoint is (table rows), e.g. ``"MLP, MNIST"``."""
    spec = metadata.get("spec", {})
    arch, dataset = spec.get("arch", "?"), metadata.get("dataset", "?")
    names = {"mnist": "MNIST", "fashion": "Fashion-MNIST", "cifar10": "CIFAR-10"}
    data = names.get(dataset, dataset)
    if arch == "vgg":
        train = metadata.get("train_config", {})
        regularised = bool(spec.get("dropout")) or float(train.get("l2", 0) or 0) > 0
        return f"VGG, {data}" if regularised else f"VGG, {data} Unregularized"
    return f"{arch.upper()}, {data}"


def _identity(args, ck, partitioning: str, k: int) -> dict:
    meta = ck.metadata
    spec = meta.get("spec", {})
    return {
        "condition": args.condition or f"{spec.get('arch', 'net')}-{meta.get('dataset', 'data')}",
        "network_label": network_label(meta),
        "arch": spec.get("arch", ""),
        "dataset": meta.get("dataset", ""),
        "replicate": str(args.replicate if args.replicate is not None else meta.get("seed", 0)),
        "checkpoint": str(args.checkpoint),
        "partitioning": partitioning,
        "k": int(k),
    }


def _vis_settings(args, imagenet: bool = False):
    from nnstructure.specialization.visualization import VisualizationSettings

    return VisualizationSettings.preset(
        args.vis_method, imagenet=imagenet, parameterization=args.vis_parameterization, steps=args.vis_steps,
        lr=args.vis_lr, transforms=args.vis_transforms, objective=args.vis_objective,
    )


def _make_partition(args, ck, partitioning: str, network_labels=None, dataset=None):
    from nnstructure.specialization.partition import check_partitioning, partition_network, validation_inputs

    graph_kind, _ = check_partitioning(partitioning)
    inputs = None
    if graph_kind == "act":
        dataset = dataset or _dataset(args, ck)
        inputs = validation_inputs(dataset.x_train, args.validation_size, args.seed)
    return partition_network(
        ck.model, partitioning, args.k, seed=args.seed, inputs=inputs, n_init=args.n_init, kernel_norm=args.kernel_norm,
        fold_batchnorm=args.fold_batchnorm, layer_scope=args.layer_scope, network_labels=network_labels, device=args.device,
    )


def _partition(args) -> int:
    from nnstructure.graph import save_graph
    from nnstructure.specialization.partition import check_partitioning, read_partition, write_partition

    ck = _load(args.checkpoint, args.allow_pickle)
    network_labels = None
    if args.network_labels:
        if check_partitioning(args.partitioning)[1] != "layer":
            raise ValueError("--network-labels only applies to layer-wise partitionings (weight-layer, act-layer)")
        frame, summary = read_partition(args.network_labels)
        expected = args.partitioning.replace("-layer", "-network")
        if summary["partitioning"] != expected or summary["k"] != args.k:
            raise ValueError(
                f"{args.network_labels} is a {summary['partitioning']} partition with k={summary['k']}; "
                f"{args.partitioning} with k={args.k} needs the {expected} partition with the same k"
            )
        network_labels = frame["label"].to_numpy()
    part = _make_partition(args, ck, args.partitioning, network_labels)
    write_partition(part, args.out)
    if args.graph:
        save_graph(part.graph, args.graph)
    summary = {k: v for k, v in part.summary.items() if k != "constant_units"}
    summary["n_constant_units"] = len(part.summary.get("constant_units", []))
    print(json.dumps(summary), file=sys.stderr)
    return 0


def _evaluate(args, ck, labels, proxy: str, dataset, identity: dict, images: bool):
    from nnstructure.specialization.evaluate import evaluate_partition

    return evaluate_partition(
        ck.model, labels, proxy, dataset, n_random=args.n_random, seed=args.seed, random_pool=args.random_pool,
        vis_settings=_vis_settings(args) if proxy == "visualization" else None, images=images,
        n_saved_random=getattr(args, "n_saved_random", 1), identity=identity, device=args.device,
        vis_max_batch=args.vis_max_batch, progress=True,
    )


def _subcluster_proxy(args) -> int:
    from nnstructure.io import write_parquet
    from nnstructure.specialization.partition import read_partition

    if args.images and args.proxy != "visualization":
        raise ValueError("--images only applies to --proxy visualization")
    ck = _load(args.checkpoint, args.allow_pickle)
    labels, summary = read_partition(args.labels)
    dataset = _dataset(args, ck)
    identity = _identity(args, ck, summary["partitioning"], summary["k"])
    results, images = _evaluate(args, ck, labels, args.proxy, dataset, identity, bool(args.images))
    write_parquet(results, args.out)
    if args.images:
        write_parquet(images, args.images)
    n_true = int(results["is_true"].sum()) if len(results) else 0
    print(f"{args.proxy}: {n_true} subclusters x (1 + {args.n_random} random) -> {args.out}", file=sys.stderr)
    return 0


def _stats(args) -> int:
    from nnstructure.io import read_parquet, write_parquet
    from nnstructure.specialization.statistics import specialization_statistics

    results = pd.concat([read_parquet(path) for path in args.results], ignore_index=True)
    combined, per_network, pct = specialization_statistics(
        results, ties=args.ties, alpha=args.alpha, family_class_range=args.family_class_range
    )
    write_parquet(combined, args.out)
    if args.per_network:
        write_parquet(per_network, args.per_network)
    if args.percentiles:
        write_parquet(pct, args.percentiles)
    critical = combined["bh_critical_p"].iloc[0]
    print(f"{len(combined)} condition x metric rows; BH critical p = {critical if critical == critical else 'none (nothing significant)'}"
          f" -> {args.out}", file=sys.stderr)
    return 0


def _specialization(args) -> int:
    from nnstructure.io import write_parquet
    from nnstructure.specialization.statistics import specialization_statistics

    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [p for p in proxies if p not in PROXIES]
    if not proxies or unknown:
        raise ValueError(f"--proxies must list some of {', '.join(PROXIES)}; got {args.proxies!r}")
    ck = _load(args.checkpoint, args.allow_pickle)
    dataset = _dataset(args, ck)
    part = _make_partition(args, ck, args.partitioning, dataset=dataset)
    identity = _identity(args, ck, args.partitioning, args.k)
    frames = [_evaluate(args, ck, part.frame(), proxy, dataset, identity, False)[0] for proxy in proxies]
    results = pd.concat(frames, ignore_index=True)
    if args.results:
        write_parquet(results, args.results)
    combined, _, _ = specialization_statistics(results, ties=args.ties, alpha=args.alpha, family_class_range=args.family_class_range)
    if args.out:
        write_parquet(combined, args.out)
    summary = {
        row["metric"]: {
            "fisher": row["fisher"], "p_value": row["p_value"], "effect": row["effect"], "effect_se": row["effect_se"],
            "n_subclusters": int(row["n_subclusters"]),
        }
        for _, row in combined.iterrows()
    }
    if args.json:
        print(json.dumps({"partitioning": args.partitioning, "k": args.k, "n_random": args.n_random, "ties": args.ties,
                          "metrics": summary}, default=float))
    else:
        print(f"{args.partitioning}, k={args.k}, {args.n_random} random subclusters each:")
        for metric, s in summary.items():
            print(f"  {METRICS[metric].title:<26} Fisher {s['fisher']:.2f} (p = {s['p_value']:.2g}), "
                  f"effect {s['effect']:.3f} +- {s['effect_se']:.3f}, {s['n_subclusters']} subclusters")
    return 0
