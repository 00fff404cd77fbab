"""Chapter 4's workflow steps, each ``(input paths, output paths, settings) -> None``.

:func:`partition` (one partitioning of one network phase), :func:`subcluster_proxy`
(one proxy on every true and random subcluster of a partition) and
:func:`specialization_stats` (the statistics over every proxy result) are the
workflow's steps: the scripts in ``workflow_scripts/`` call them with a rule's
params as the settings, and ``nnstructure partition | subcluster-proxy |
specialization-stats`` parse their options into the same settings.
:func:`specialization` does all of it for one network (``nnstructure specialization``).

Settings are plain values; the ``*_DEFAULTS`` tables hold the defaults (the
commands' option defaults). The device, like the log, is not a setting: it is
recorded in the outputs' metadata where it matters, not in what they depend on.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping

from nnstructure.specialization.choices import DEFAULT_VALIDATION_SIZE
from nnstructure.step_settings import as_float, as_int, step_settings

#: ``partition``: the partitioning (required) and how the graph is built and clustered.
PARTITION_DEFAULTS: dict[str, Any] = {
    "k": 16, "seed": 0, "n_init": 25, "validation_size": DEFAULT_VALIDATION_SIZE, "kernel_norm": "l1",
    "fold_batchnorm": True, "layer_scope": "adjacent", "method": "spectral", "method_settings": None,
}
#: ``subcluster_proxy``: the proxy (required), the random controls, the results' identity and the visualisation
#: (a mapping of method, parameterization, steps, lr, transforms, objective, max_batch; unset ones: the method's).
PROXY_DEFAULTS: dict[str, Any] = {
    "n_random": 19, "random_pool": "all", "seed": 0, "condition": None, "replicate": None, "visualization": None,
    "n_saved_random": 1,
}
VISUALIZATION_KEYS = ("method", "parameterization", "steps", "lr", "transforms", "objective", "max_batch")
#: ``specialization_stats``.
STATS_DEFAULTS: dict[str, Any] = {"ties": "strict", "alpha": 0.05, "family_class_range": "raw",
                                  "effect_definition": "thesis-text"}
#: ``specialization``: one network's partition, proxies and statistics.
SPECIALIZATION_DEFAULTS: dict[str, Any] = {
    "partitioning": "weight-network", "proxies": ("lesion", "visualization"),
    **PARTITION_DEFAULTS, **{k: v for k, v in PROXY_DEFAULTS.items() if k != "seed"}, **STATS_DEFAULTS,
}


# ---------------------------------------------------------------------------------------------
# The steps


def partition(checkpoint, dataset, out, settings: Mapping[str, Any], *, network_labels=None, graph=None, data_dir=None,
              allow_pickle: bool = False, device: str | None = None) -> None:
    """Cluster a network's weight or activation graph, network-wide or layer-wise, into the labels table ``out``.

    ``dataset`` (or ``data_dir``) is the network's dataset (activation partitionings compute the graph on
    ``validation_size`` of its training inputs); ``network_labels`` the network-wide partition with the same k
    (layer-wise ones reuse its k per layer); ``graph`` also writes the clustered graph.
    """
    from nnstructure.graph import save_graph
    from nnstructure.specialization.partition import check_partitioning, read_partition, write_partition

    s = step_settings("partition", settings, PARTITION_DEFAULTS, required=("partitioning",))
    s.update(k=_k(s["k"]), seed=as_int(s["seed"]))
    ck = load_network(checkpoint, allow_pickle)
    labels = None
    if network_labels:
        if check_partitioning(s["partitioning"])[1] != "layer":
            raise ValueError("--network-labels only applies to layer-wise partitionings (weight-layer, act-layer)")
        frame, summary = read_partition(network_labels)
        expected = s["partitioning"].replace("-layer", "-network")
        own_k = _chooses_own_k(s)  # then the network-wide partition's k is whatever its method found
        if (summary["partitioning"] != expected or summary.get("method", "spectral") != s["method"]
                or (not own_k and summary["k"] != s["k"])):
            raise ValueError(
                f"{network_labels} is a {summary['partitioning']} partition by {summary.get('method', 'spectral')} "
                f"with k={summary['k']}; {s['partitioning']} by {s['method']} with k={s['k']} needs the {expected} "
                f"partition by the same method{'' if own_k else ' with the same k'}"
            )
        labels = frame["label"].to_numpy()
    part = _make_partition(s, ck, dataset, data_dir, labels, device=device)
    write_partition(part, out)
    if graph:
        save_graph(part.graph, graph)
    summary = {k: v for k, v in part.summary.items() if k != "constant_units"}
    summary["n_constant_units"] = len(part.summary.get("constant_units", []))
    print(json.dumps(summary), file=sys.stderr)


def subcluster_proxy(checkpoint, labels, dataset, out, settings: Mapping[str, Any], *, images=None, data_dir=None,
                     allow_pickle: bool = False, device: str | None = None) -> None:
    """Lesion or visualise every subcluster of the partition ``labels`` and its random controls: the results
    table ``out`` (and, for the visualisation, the true and first random images in ``images``)."""
    from nnstructure.io import write_parquet
    from nnstructure.specialization.partition import read_partition

    s = step_settings("subcluster_proxy", settings, PROXY_DEFAULTS, required=("proxy",))
    if images and s["proxy"] != "visualization":
        raise ValueError("--images only applies to --proxy visualization")
    ck = load_network(checkpoint, allow_pickle)
    partition_labels, summary = read_partition(labels)
    ds = network_dataset(ck, dataset, data_dir)
    identity = _identity(s, ck, checkpoint, summary["partitioning"], summary["k"])
    results, saved = _evaluate(s, ck, partition_labels, s["proxy"], ds, identity, bool(images), device)
    write_parquet(results, out)
    if images:
        write_parquet(saved, images)
    n_true = int(results["is_true"].sum()) if len(results) else 0
    print(f"{s['proxy']}: {n_true} subclusters x (1 + {s['n_random']} random) -> {out}", file=sys.stderr)


def specialization_stats(results, out, settings: Mapping[str, Any], *, per_network=None, percentiles=None) -> None:
    """Fisher statistics, Bates-combined p-values, Benjamini-Hochberg and effect measures over the results tables
    ``results`` (a list of paths): the combined statistics ``out``, optionally the per-network statistics and
    every true subcluster's percentile."""
    import pandas as pd

    from nnstructure.io import read_parquet, write_parquet
    from nnstructure.specialization.statistics import specialization_statistics

    s = step_settings("specialization_stats", settings, STATS_DEFAULTS)
    frame = pd.concat([read_parquet(path) for path in results], ignore_index=True)
    combined, per_net, pct = specialization_statistics(
        frame, ties=s["ties"], alpha=as_float(s["alpha"]), family_class_range=s["family_class_range"],
        effect_definition=s["effect_definition"],
    )
    write_parquet(combined, out)
    if per_network:
        write_parquet(per_net, per_network)
    if percentiles:
        write_parquet(pct, percentiles)
    critical = combined["bh_critical_p"].iloc[0]
    print(f"{len(combined)} condition x metric rows; BH critical p = {critical if critical == critical else 'none (nothing significant)'}"
          f" -> {out}", file=sys.stderr)


def specialization(checkpoint, dataset, settings: Mapping[str, Any], *, results=None, out=None, data_dir=None,
                   allow_pickle: bool = False, device: str | None = None):
    """Importance and coherence of one network's subclusters: its partition, every proxy in ``proxies`` and the
    statistics, which it returns (and writes to ``out``; the results table to ``results``)."""
    import pandas as pd

    from nnstructure.io import write_parquet
    from nnstructure.specialization.choices import PROXIES
    from nnstructure.specialization.statistics import specialization_statistics

    s = step_settings("specialization", settings, SPECIALIZATION_DEFAULTS)
    proxies = list(s["proxies"])
    unknown = [p for p in proxies if p not in PROXIES]
    if not proxies or unknown:
        raise ValueError(f"proxies must be some of {', '.join(PROXIES)}; got {proxies}")
    ck = load_network(checkpoint, allow_pickle)
    ds = network_dataset(ck, dataset, data_dir)
    part = _make_partition(s, ck, ds, None, None, device=device)
    identity = _identity(s, ck, checkpoint, s["partitioning"], part.summary["k"])
    frames = [_evaluate(s, ck, part.frame(), proxy, ds, identity, False, device)[0] for proxy in proxies]
    frame = pd.concat(frames, ignore_index=True)
    if results:
        write_parquet(frame, results)
    combined, _, _ = specialization_statistics(frame, ties=s["ties"], alpha=as_float(s["alpha"]),
                                               family_class_range=s["family_class_range"],
                                               effect_definition=s["effect_definition"])
    if out:
        write_parquet(combined, out)
    return combined


# ---------------------------------------------------------------------------------------------
# What the steps share


def load_network(checkpoint, allow_pickle: bool = False):
    """Our checkpoint, or a network made elsewhere (TorchScript, a state dict of a plain stack, a pickled
    module with --allow-pickle) read by :func:`nnstructure.network_io.load_sequential`."""
    from nnstructure.checkpoint import Checkpoint
    from nnstructure.network_io import load_sequential

    if not Path(checkpoint).exists():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist; train the network first (`nnstructure train ... --out {checkpoint}`)")
    model, metadata = load_sequential(checkpoint, allow_pickle=allow_pickle)
    arch = (metadata.get("spec") or {}).get("arch")
    if arch == "reward":
        raise ValueError(f"{checkpoint} is a chapter-5 reward net: chapter 4's lesions and visualisations analyse image "
                         "classifiers (MLP, CNN, VGG, ImageNet networks); for a reward net use noise-test, "
                         "predict-transitions, visualize-reward or probe")
    return Checkpoint(model=model.eval(), metadata=metadata, path=Path(checkpoint))


def network_dataset(ck, dataset=None, data_dir=None):
    """The dataset the checkpoint was trained on: the ``dataset`` artifact (.npz), or built from the real data
    in ``data_dir``; a loaded dataset (already checked) is returned as it is. Checked against the model
    (its spec, then one forward pass)."""
    from nnstructure.data import load_dataset, make_dataset
    from nnstructure.network_io import check_network_inputs

    if dataset is not None and not isinstance(dataset, (str, Path)):
        return dataset
    metadata = ck.metadata
    name = metadata.get("dataset")
    if dataset:
        if not Path(dataset).exists():
            raise FileNotFoundError(
                f"dataset {dataset} does not exist; build it with `nnstructure dataset {name or 'NAME'} --data-dir DIR --out {dataset}`"
            )
        ds = load_dataset(dataset)
    elif data_dir:
        if not name:
            raise ValueError("the checkpoint does not record its dataset; pass --dataset DATA.npz")
        ds = make_dataset(name, data_dir)
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


def visualization_settings(vis: Mapping[str, Any] | None, imagenet: bool = False):
    """The :class:`~nnstructure.specialization.visualization.VisualizationSettings` of a proxy's ``visualization``
    setting (its method's, with the overrides it sets)."""
    from nnstructure.specialization.visualization import VisualizationSettings

    vis = dict(vis or {})
    unknown = [key for key in vis if key not in VISUALIZATION_KEYS]
    if unknown:
        raise ValueError(f"visualization: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"it takes {', '.join(VISUALIZATION_KEYS)}")
    return VisualizationSettings.preset(
        vis.get("method") or "thesis", imagenet=imagenet, parameterization=vis.get("parameterization"),
        steps=as_int(vis.get("steps")), lr=as_float(vis.get("lr")), transforms=vis.get("transforms"),
        objective=vis.get("objective"),
    )


def _identity(s: Mapping[str, Any], ck, checkpoint, partitioning: str, k: int) -> dict:
    meta = ck.metadata
    spec = meta.get("spec", {})
    return {
        "condition": s["condition"] or f"{spec.get('arch', 'net')}-{meta.get('dataset', 'data')}",
        "network_label": network_label(meta),
        "arch": spec.get("arch", ""),
        "dataset": meta.get("dataset", ""),
        "replicate": str(s["replicate"] if s["replicate"] is not None else meta.get("seed", 0)),
        "checkpoint": str(checkpoint),
        "partitioning": partitioning,
        "k": int(k),
    }


def _make_partition(s: Mapping[str, Any], ck, dataset, data_dir, network_labels, device=None):
    from nnstructure.specialization.partition import check_partitioning, partition_network, validation_inputs

    graph_kind, _ = check_partitioning(s["partitioning"])
    inputs = None
    if graph_kind == "act":
        ds = network_dataset(ck, dataset, data_dir)
        inputs = validation_inputs(ds.x_train, as_int(s["validation_size"]), as_int(s["seed"]))
    k = _k(s["k"])
    if _chooses_own_k(s):
        if network_labels is None:  # the method partitions the graph network-wide (issue 21)
            from nnstructure.specialization.partition import partition_by_method

            options = {**({"n_init": _n_init(s["n_init"])} if s["method"] == "spectral" else {}),
                       **(s["method_settings"] or {})}
            return partition_by_method(ck.model, s["partitioning"], s["method"], k, as_int(s["seed"]), options, inputs,
                                       s["kernel_norm"], bool(s["fold_batchnorm"]), s["layer_scope"], device=device)
        k = len({int(x) for x in network_labels if x >= 0})  # a layer-wise partition: the network-wide one's k
    part = partition_network(
        ck.model, s["partitioning"], k, seed=as_int(s["seed"]), inputs=inputs, n_init=_n_init(s["n_init"]),
        kernel_norm=s["kernel_norm"], fold_batchnorm=bool(s["fold_batchnorm"]), layer_scope=s["layer_scope"],
        network_labels=network_labels, device=device,
    )
    if s["method"] != "spectral":
        part.summary["method"] = s["method"]
    return part


def _k(value) -> int | str:
    """``k`` as ``--k`` reads it: an integer, or ``"auto"`` (the eigengap choice)."""
    return value if value == "auto" else as_int(value)


def _chooses_own_k(s: Mapping[str, Any]) -> bool:
    """Whether the network-wide clusters' number comes from the graph (a method other than spectral, or k: auto)."""
    return s["method"] != "spectral" or s["k"] == "auto"


def _n_init(value) -> int | str:
    """``n_init`` as ``--n-init`` reads it: a positive integer or ``"auto"``."""
    return value if value == "auto" else as_int(value)


def _evaluate(s: Mapping[str, Any], ck, labels, proxy: str, dataset, identity: dict, images: bool, device):
    from nnstructure.specialization.evaluate import evaluate_partition

    vis = s["visualization"] or {}
    return evaluate_partition(
        ck.model, labels, proxy, dataset, n_random=as_int(s["n_random"]), seed=as_int(s["seed"]),
        random_pool=s["random_pool"], vis_settings=visualization_settings(vis) if proxy == "visualization" else None,
        images=images, n_saved_random=as_int(s["n_saved_random"]), identity=identity, device=device,
        vis_max_batch=as_int(vis.get("max_batch")), progress=True,
    )
