"""``nnstructure partition | subcluster-proxy | specialization-stats | specialization``: chapter 4 on any network.

The first three are the workflow's steps (one job per network x partitioning x
k, one per network x partitioning x k x proxy, one aggregation); the last does
everything for one checkpoint and prints the statistics. Each parses its options
into the settings of its function in :mod:`nnstructure.specialization.steps`,
which the workflow's scripts call directly.
"""

from __future__ import annotations

import argparse
import json

from nnstructure.cluster.cli import add_graph_options, add_method_options, add_n_init_option, k_or_auto
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
from nnstructure.network_io import ACCEPTED_FORMATS
from nnstructure.specialization.statistics import CLASS_RANGE_DEFINITIONS
from nnstructure.stats.effect import EFFECT_DEFINITIONS
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


def _partition_options(p: argparse.ArgumentParser, k_auto: bool = False) -> None:
    if k_auto:  # `specialization`: the spectral method's k, or chosen from the graph
        p.add_argument("--k", type=k_or_auto, default=16,
                       help="number of network-wide clusters of the spectral method (thesis: 16; ImageNet 32), "
                            "or auto: the eigengap choice on the partitioning's graph")
    else:
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
    p.add_argument("--effect-definition", choices=EFFECT_DEFINITIONS, default=EFFECT_DEFINITIONS[0],
                   help="effect measure: thesis-text (2x/(x + mean of the randoms)) or original-code (mean over random "
                        "subclusters of 2x/(x + r_j), subclusters with x <= 0 dropped)")


def register(subparsers) -> None:
    from nnstructure.network_io import add_allow_pickle_option

    p = subparsers.add_parser("partition", help="cluster a network's weight or activation graph, network-wide or layer-wise")
    p.add_argument("checkpoint", help=f"network to partition ({ACCEPTED_FORMATS})")
    p.add_argument("--partitioning", choices=PARTITIONINGS, required=True,
                   help="graph and scope: weight or activation (act) graph, clustered network-wide or layer-wise")
    add_allow_pickle_option(p)
    p.add_argument("--seed", type=int, default=0, help="clustering seed (and of the activation validation split)")
    _partition_options(p)
    add_method_options(p)
    p.add_argument("--network-labels", help="(layer-wise only) the network-wide partition of the same graph, to reuse its k per layer")
    _data_options(p)
    p.add_argument("--graph", help="also write the clustered graph here (.npz)")
    p.add_argument("--out", required=True, help="labels table (Parquet: layer, layer_name, unit, label; summary in metadata)")
    p.set_defaults(func=_partition)

    p = subparsers.add_parser("subcluster-proxy", help="lesion or visualise every subcluster of a partition and its random controls")
    p.add_argument("checkpoint", help=f"the partitioned network ({ACCEPTED_FORMATS})")
    p.add_argument("--labels", required=True, help="partition from `nnstructure partition`")
    add_allow_pickle_option(p)
    p.add_argument("--proxy", choices=PROXIES, required=True,
                   help="lesion: accuracy drop when a subcluster is silenced (importance); visualization: "
                        "similarity of the images that excite it (coherence)")
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
    p.add_argument("checkpoint", help=f"network to analyse ({ACCEPTED_FORMATS})")
    p.add_argument("--partitioning", choices=PARTITIONINGS, default="weight-network",
                   help="graph and scope: weight or activation (act) graph, clustered network-wide or layer-wise "
                        "(default weight-network)")
    add_allow_pickle_option(p)
    p.add_argument("--proxies", default="lesion,visualization", help="comma-separated: lesion, visualization")
    p.add_argument("--seed", type=int, default=0, help="seed of the clustering, the random subclusters and the visualisations")
    _partition_options(p, k_auto=True)
    add_method_options(p)
    _proxy_options(p)
    _stats_options(p)
    _data_options(p)
    p.add_argument("--results", help="also write the results table (Parquet)")
    p.add_argument("--out", help="write the statistics (Parquet: one row per metric)")
    p.add_argument("--json", action="store_true", help="print one JSON object: per metric fisher, p_value, effect, effect_se, n_subclusters")
    p.set_defaults(func=_specialization)


def _proxy_settings(args) -> dict:
    """The settings of :func:`nnstructure.specialization.steps.subcluster_proxy` given by the proxy options."""
    vis = {"method": args.vis_method, "parameterization": args.vis_parameterization, "steps": args.vis_steps,
           "lr": args.vis_lr, "transforms": args.vis_transforms, "objective": args.vis_objective,
           "max_batch": args.vis_max_batch}
    return {"n_random": args.n_random, "random_pool": args.random_pool, "seed": args.seed, "condition": args.condition,
            "replicate": args.replicate, "visualization": {k: v for k, v in vis.items() if v is not None}}


def _partition_settings(args) -> dict:
    from nnstructure.specialization.steps import PARTITION_DEFAULTS

    # the settings this command has options for (a step setting without one keeps its default)
    settings = {"partitioning": args.partitioning,
                **{name: getattr(args, name) for name in PARTITION_DEFAULTS if hasattr(args, name)}}
    if getattr(args, "method", "spectral") != "spectral":  # --resolution, --objective
        from nnstructure.cluster.cli import method_options

        settings["method_settings"] = method_options(args)
    return settings


def _partition(args) -> int:
    from nnstructure.specialization.steps import partition

    partition(args.checkpoint, args.dataset, args.out, _partition_settings(args), network_labels=args.network_labels,
              graph=args.graph, data_dir=args.data_dir, allow_pickle=args.allow_pickle, device=args.device)
    return 0


def _subcluster_proxy(args) -> int:
    from nnstructure.specialization.steps import subcluster_proxy

    settings = {"proxy": args.proxy, **_proxy_settings(args), "n_saved_random": args.n_saved_random}
    subcluster_proxy(args.checkpoint, args.labels, args.dataset, args.out, settings, images=args.images,
                     data_dir=args.data_dir, allow_pickle=args.allow_pickle, device=args.device)
    return 0


def _stats_settings(args) -> dict:
    return {"ties": args.ties, "alpha": args.alpha, "family_class_range": args.family_class_range,
            "effect_definition": args.effect_definition}


def _stats(args) -> int:
    from nnstructure.specialization.steps import specialization_stats

    specialization_stats(args.results, args.out, _stats_settings(args), per_network=args.per_network,
                         percentiles=args.percentiles)
    return 0


def _specialization(args) -> int:
    from nnstructure.specialization.statistics import METRICS
    from nnstructure.specialization.steps import specialization

    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [p for p in proxies if p not in PROXIES]
    if not proxies or unknown:
        raise ValueError(f"--proxies must list some of {', '.join(PROXIES)}; got {args.proxies!r}")
    settings = {**_partition_settings(args), "proxies": proxies, **_proxy_settings(args), **_stats_settings(args)}
    # any method and k (auto: the eigengap) through the one step function the workflow runs too
    combined = specialization(args.checkpoint, args.dataset, settings, results=args.results, out=args.out,
                              data_dir=args.data_dir, allow_pickle=args.allow_pickle, device=args.device)
    summary = {
        row["metric"]: {
            "fisher": row["fisher"], "p_value": row["p_value"], "effect": row["effect"], "effect_se": row["effect_se"],
            "n_subclusters": int(row["n_subclusters"]),
        }
        for _, row in combined.iterrows()
    }
    if args.json:
        print(json.dumps({"partitioning": args.partitioning, "method": args.method, "k": int(combined["k"].iloc[0]),
                          "n_random": args.n_random, "ties": args.ties, "metrics": summary}, default=float))
    else:
        print(f"{args.partitioning} by {args.method}, k={int(combined['k'].iloc[0])}, {args.n_random} random subclusters each:")
        for metric, s in summary.items():
            print(f"  {METRICS[metric].title:<26} Fisher {s['fisher']:.2f} (p = {s['p_value']:.2g}), "
                  f"effect {s['effect']:.3f} +- {s['effect_se']:.3f}, {s['n_subclusters']} subclusters")
    return 0
