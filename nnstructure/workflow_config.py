"""Resolve a validated workflow config into networks, analysis cells and per-rule params.

The Snakefile stays thin: it asks this module which networks exist, which
analysis cells use them and which settings each rule's output depends on.
Keeping the logic here makes it testable without Snakemake.

Vocabulary
----------
network set  a block of ``config['networks']``: what is trained (``kind: trained``:
             architecture, dataset, seeds, conditions, training settings), initialised
             without training (``kind: random_init``) or loaded (``kind: pretrained``:
             ImageNet weights from ``<data_dir>/imagenet/``).
condition    a named variant inside a trained or random-init set (``none``, ``dropout``,
             ...); its mapping holds the settings it overrides plus the table labels
             ``reg`` and ``init``. In a pretrained set the conditions are the architectures.
network      one (set, condition, seed): trained once, whichever analyses use it.
phase        which checkpoint of a network: ``unpruned`` and ``pruned`` (trained),
             ``init`` (random init), ``pretrained`` (imported weights).
analysis     a top-level section (``clusterability`` now) with its own settings and an
             ``networks`` mapping of *entries*: each entry names a network set (``set``,
             default: the entry's name), optionally a subset of its conditions, seeds and
             phases, per-entry setting overrides and the thesis table it reproduces.

Params (Snakemake rerun triggers) are exactly what changes a rule's output:
the data directory and the device are never params (the first is where files
are looked for, checksums define what they contain; the device used is recorded
in checkpoints and rows instead); graph settings reach only the graphs of
architectures they apply to; training settings are filtered by
:func:`nnstructure.train.config.applicable_settings`. Display labels (a
chapter-5 network's table name, which gains ``-seed<k>`` once its set has
several seeds) are params only of the aggregation that writes them into
tables; a job's own outputs name their network by its wildcards
(:func:`job_network_name`). Snakemake compares the ``repr`` of params, so the
Snakefile passes every rule's params through :func:`canonical_params` (sorted
keys, lists for tuples) and :func:`normalise_numbers` makes every number the
schema types ``number`` a float: only a change of value reruns a job.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nnstructure.paths import ArtifactPaths
from nnstructure.seeding import derive_seed

#: The kinds of network set (``kind`` in a set of ``config['networks']``; the schema's enum).
NETWORK_KINDS = ("trained", "random_init", "pretrained", "reward", "adversarial", "dots")
#: Chapter-5 network kinds: trained by their own steps on transition datasets or dots images.
CH5_KINDS = ("reward", "adversarial", "dots")
# Keys of a condition mapping that are table labels, not settings.
CONDITION_LABELS = ("reg", "init", "thesis_network")
CLUSTERING_KEYS = ("k", "n_init", "n_shuffles", "shuffle", "kernel_norm", "fold_batchnorm")
#: Names of network sets, conditions and analysis entries (also a Snakemake wildcard constraint).
NAME_REGEX = r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*"
#: Analyses whose ``networks`` entries select network sets.
ANALYSES = ("clusterability", "specialization", "reward", "probes")
#: The network kinds each analysis can run on.
ANALYSIS_KINDS = {
    "clusterability": ("trained", "random_init", "pretrained"),
    "specialization": ("trained", "pretrained"),
    "reward": ("reward", "adversarial"),
    "probes": ("reward", "adversarial", "dots"),
}
#: Chapter-4 settings an analysis entry may override (the rest are section-wide: ties, alpha, BH family).
SPECIALIZATION_KEYS = ("k", "n_init", "partitionings", "proxies", "n_random", "random_pool", "validation_size",
                       "layer_scope", "kernel_norm", "fold_batchnorm", "visualization")
#: The ReLU layers a probe can read (the five convolutions of chapter 5's networks). A feature cache holds all
#: of them, so choosing other ``probes.layers`` fits the new layers' probes from the caches already made.
PROBE_LAYERS = (0, 1, 2, 3, 4)


class WorkflowConfigError(ValueError):
    """The config names something that does not exist or cannot work together."""


# ---------------------------------------------------------------------------------------------
# Params: one form per value


def canonical_params(value: Any) -> Any:
    """``value`` in one canonical form: mappings with sorted keys, lists for tuples, plain Python scalars.

    Snakemake reruns a job when the ``repr`` of its params changes; equal
    settings written in another key order (or built as a tuple instead of a
    list) must not do that.
    """
    if isinstance(value, dict):
        return {key: canonical_params(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical_params(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical_params(v) for v in value), key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()  # a numpy scalar: its Python value (np.float64(1.0) -> 1.0)
    return value


def canonical_param_function(func):
    """A params function whose result is :func:`canonical_params` (same signature, so Snakemake passes the same arguments)."""

    @functools.wraps(func)
    def canonical(*args, **kwargs):
        return canonical_params(func(*args, **kwargs))

    return canonical


def normalise_numbers(config: dict, schema_path: str | os.PathLike) -> dict:
    """Make every integer the schema types ``number`` (not ``integer``) a float, in place; return ``config``.

    ``dropout: 0`` and ``dropout: 0.0`` are the same setting, and the defaults
    are floats, so only a change of value reaches a job's params.
    """
    import yaml
    from jsonschema import Draft202012Validator, validators

    def number_only(schema) -> bool:
        types = schema.get("type") if isinstance(schema, dict) else None
        types = [types] if isinstance(types, str) else list(types or [])
        return "number" in types and "integer" not in types

    def as_float(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                value = instance.get(name)
                if number_only(sub) and isinstance(value, int) and not isinstance(value, bool):
                    instance[name] = float(value)
        yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)

    root = yaml.safe_load(Path(schema_path).read_text())
    for _ in validators.extend(Draft202012Validator, {"properties": as_float})(root).iter_errors(config):
        pass  # the Snakefile's check_config reports errors; here only the types matter
    return config


@dataclass(frozen=True, order=True)
class Network:
    """One network: a (set, condition, seed) cell of a network set."""

    network_set: str
    condition: str
    seed: int

    @property
    def path(self) -> str:
        return f"{self.network_set}/{self.condition}/seed{self.seed}"


# ---------------------------------------------------------------------------------------------
# Network sets


def network_set(config: dict, name: str) -> dict:
    try:
        return config["networks"][name]
    except KeyError:
        known = ", ".join(sorted(config.get("networks", {}))) or "none"
        raise WorkflowConfigError(f"unknown network set {name!r}; config 'networks' has: {known}") from None


def network_kind(config: dict, name: str) -> str:
    return network_set(config, name).get("kind", "trained")


def enabled_network_sets(config: dict) -> list[str]:
    return [n for n, s in config.get("networks", {}).items() if s.get("enabled", True)]


def set_conditions(config: dict, name: str) -> dict[str, dict]:
    """Condition name -> its overrides (labels included). Pretrained sets: one condition per architecture."""
    s = network_set(config, name)
    if network_kind(config, name) == "pretrained":
        return {arch: {} for arch in s["archs"]}
    return {cond: (overrides or {}) for cond, overrides in (s.get("conditions") or {"none": {}}).items()}


def set_seeds(config: dict, name: str) -> list[int]:
    s = network_set(config, name)
    return [0] if network_kind(config, name) == "pretrained" else [int(x) for x in s["seeds"]]


def set_arch(config: dict, network: Network) -> str:
    """The architecture of a network (a pretrained set's condition is its architecture)."""
    if network_kind(config, network.network_set) == "pretrained":
        return network.condition
    return network_set(config, network.network_set)["arch"]


def set_dataset(config: dict, name: str) -> str:
    """The dataset a set's networks learn from: a chapter-3 dataset, ``imagenet``, a transition dataset or ``dots``."""
    kind = network_kind(config, name)
    if kind == "pretrained":
        return "imagenet"
    if kind in ("reward", "adversarial"):
        return network_set(config, name)["transitions"]
    if kind == "dots":
        return "dots"
    return network_set(config, name)["dataset"]


def networks_of(config: dict, name: str) -> Iterator[Network]:
    for cond in set_conditions(config, name):
        for seed in set_seeds(config, name):
            yield Network(name, cond, seed)


def network_settings(config: dict, network: Network) -> dict:
    """All training settings of a trained or random-init network (defaults < set ``train`` < condition)."""
    name, cond = network.network_set, network.condition
    s = network_set(config, name)
    conditions = set_conditions(config, name)
    if cond not in conditions:
        raise WorkflowConfigError(f"network set {name!r} has no condition {cond!r}; it has {', '.join(conditions)}")
    overrides = {k: v for k, v in conditions[cond].items() if k not in CONDITION_LABELS}
    if network_kind(config, name) == "random_init":
        from nnstructure.train.config import setting_fields

        own = {**(s.get("init") or {}), **overrides}
        not_init = sorted(k for k in own if k in setting_fields() and not setting_fields()[k].metadata["init"])
        if not_init:
            raise WorkflowConfigError(
                f"network set {name!r} is random_init (never trained), so training setting(s) {not_init} do not apply; "
                "remove them (only model and initialisation settings change an untrained network)"
            )
        return {**config.get("train", {}), **own}
    return {**config.get("train", {}), **(s.get("train") or {}), **overrides}


def network_seed(network: Network) -> int:
    """The seed every random choice of a network's training derives from."""
    return derive_seed(network.network_set, network.condition, network.seed)


def network_phases(config: dict, name: str) -> list[str]:
    """The checkpoints a network set's networks have."""
    kind = network_kind(config, name)
    if kind == "random_init":
        return ["init"]
    if kind in ("pretrained", *CH5_KINDS):
        return [kind]
    prunes = [network_settings(config, Network(name, c, 0)).get("prune_epochs", 0) for c in set_conditions(config, name)]
    if not any(prunes):
        return ["unpruned"]
    if all(prunes):
        return ["unpruned", "pruned"]
    raise WorkflowConfigError(
        f"network set {name!r}: conditions disagree on whether to prune (prune_epochs); split them into two network sets"
    )


def train_params(config: dict, network: Network) -> dict:
    """Everything a training job's output depends on (Snakemake params)."""
    return _network_params(config, network, trained=True)


def init_params(config: dict, network: Network) -> dict:
    """Everything a randomly initialised network depends on: no training setting reaches it."""
    return _network_params(config, network, trained=False)


def _network_params(config: dict, network: Network, trained: bool) -> dict:
    from nnstructure.train.config import applicable_settings

    arch = set_arch(config, network)
    return {
        "arch": arch,
        "dataset": set_dataset(config, network.network_set),
        "seed": network_seed(network),
        "settings": applicable_settings(network_settings(config, network), arch, trained=trained),
    }


# ---------------------------------------------------------------------------------------------
# Pretrained (ImageNet) weights


def pretrained_weights(config: dict, arch: str) -> Path | None:
    """The weight file of an ImageNet architecture in the data directory, or ``None``."""
    from nnstructure.imagenet import find_imagenet_weights

    return find_imagenet_weights(config["data_dir"]).get(arch)


_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 of a file (cached per path, size and modification time within the process)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _CHECKSUMS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        _CHECKSUMS[key] = digest.hexdigest()
    return _CHECKSUMS[key]


def pretrained_params(config: dict, network: Network) -> dict:
    """A pretrained network is its architecture and its weight file's content (not the file's location)."""
    path = pretrained_weights(config, network.condition)
    if path is None:
        from nnstructure.imagenet import missing_weights_message

        raise WorkflowConfigError(missing_weights_message(network.condition, config["data_dir"]))
    return {"arch": network.condition, "weights_sha256": file_checksum(path)}


#: Real datasets a preset can do without: the network sets trained on one that no source has (see
#: nnstructure.data.sources.find_source) are skipped with a message, as ImageNet networks without weights are.
OPTIONAL_REAL_DATASETS = ("cifar10",)


def missing_data(config: dict, name: str) -> str | None:
    """Why network set ``name`` cannot be trained here (an optional real dataset it needs has no source), or None."""
    if network_kind(config, name) != "trained":
        return None  # random-init networks are built from their dataset's shape, without its data
    from nnstructure.data.registry import required_real_datasets
    from nnstructure.data.sources import find_source, missing_source_message

    for key in required_real_datasets(set_dataset(config, name)):
        if key in OPTIONAL_REAL_DATASETS and find_source(key, config["data_dir"]) is None:
            return missing_source_message(key, config["data_dir"])
    return None


def available_networks(config: dict, name: str, report=None) -> list[Network]:
    """The networks of a set that can be built: a pretrained architecture without weights is skipped, and so is
    a set trained on an optional real dataset without a source (:func:`missing_data`).

    ``report(message)`` is called once per skipped network (once per set for missing data).
    """
    nets = list(networks_of(config, name))
    blocked = missing_data(config, name)
    if blocked is not None:
        if report is not None:
            report(f"skipping network set {name}: {blocked}")
        return []
    if network_kind(config, name) != "pretrained":
        return nets
    from nnstructure.imagenet import missing_weights_message

    out = []
    for net in nets:
        if pretrained_weights(config, net.condition) is None:
            if report is not None:
                report(f"skipping ImageNet {net.condition}: {missing_weights_message(net.condition, config['data_dir'])}")
            continue
        out.append(net)
    return out


# ---------------------------------------------------------------------------------------------
# Datasets


def dataset_params(config: dict, dataset: str) -> dict:
    """What a dataset artifact depends on: sizes, seed and the checksums of the real files it is built from."""
    from nnstructure.data.registry import required_real_datasets
    from nnstructure.data.sources import REAL_DATASETS

    opts = (config.get("datasets") or {}).get(dataset) or {}
    return {
        "n_train": opts.get("n_train"),
        "n_test": opts.get("n_test"),
        "seed": int(opts.get("seed", 0)),
        "sources": {key: {f.name: f.md5 for f in REAL_DATASETS[key].files} for key in required_real_datasets(dataset)},
    }


def used_datasets(config: dict, sets: list[str] | None = None) -> list[str]:
    """Chapter-3 datasets of the trained networks of ``sets`` (default: every enabled set) that can be trained
    here (random-init networks read no data)."""
    names = enabled_network_sets(config) if sets is None else sets
    return sorted({set_dataset(config, n) for n in names
                   if network_kind(config, n) == "trained" and missing_data(config, n) is None})


# ---------------------------------------------------------------------------------------------
# Analyses: entries that select networks


@dataclass(frozen=True, order=True)
class AnalysisCell:
    """One network phase analysed by one analysis entry."""

    entry: str
    network: Network
    phase: str

    @property
    def condition(self) -> str:
        return self.network.condition

    @property
    def seed(self) -> int:
        return self.network.seed


def analysis_entries(config: dict, analysis: str) -> list[str]:
    entries = (config.get(analysis) or {}).get("networks") or {}
    return [e for e, spec in entries.items() if (spec or {}).get("enabled", True)]


def analysis_entry(config: dict, analysis: str, entry: str) -> dict:
    entries = (config.get(analysis) or {}).get("networks") or {}
    if entry not in entries:
        raise WorkflowConfigError(f"{analysis}.networks has no entry {entry!r}; it has {', '.join(entries) or 'none'}")
    return entries[entry] or {}


def entry_set(config: dict, analysis: str, entry: str) -> str:
    name = analysis_entry(config, analysis, entry).get("set", entry)
    if name not in config.get("networks", {}):
        known = ", ".join(sorted(config.get("networks", {}))) or "none"
        raise WorkflowConfigError(
            f"{analysis}.networks.{entry} uses network set {name!r}, which is not defined under 'networks' "
            f"(defined: {known}); add it there or set {analysis}.networks.{entry}.set"
        )
    return name


def entry_network(config: dict, analysis: str, entry: str, condition: str, seed: int) -> Network:
    return Network(entry_set(config, analysis, entry), condition, int(seed))


def analysis_cells(config: dict, analysis: str, report=None) -> Iterator[AnalysisCell]:
    """Every (entry, network, phase) an analysis runs on, honouring the entry's subsets.

    Chapter 4 needs the networks' datasets (activation graphs, lesions), which
    pretrained ImageNet networks do not have here: such entries are skipped,
    with a ``report`` message, as are entries on a network set trained on an
    optional real dataset without a source (:func:`missing_data`).
    """
    for entry in analysis_entries(config, analysis):
        spec = analysis_entry(config, analysis, entry)
        name = entry_set(config, analysis, entry)
        kind = network_kind(config, name)
        allowed = ANALYSIS_KINDS[analysis]
        if kind not in allowed:
            raise WorkflowConfigError(
                f"{analysis}.networks.{entry} uses network set {name!r} of kind {kind!r}; {analysis} analyses "
                f"networks of kind {', '.join(allowed)}"
            )
        blocked = missing_data(config, name)
        if blocked is not None:
            if report is not None:
                report(f"skipping {analysis}.networks.{entry}: {blocked}")
            continue
        if analysis == "specialization" and kind == "pretrained":
            if report is not None:
                report(f"skipping specialization.networks.{entry}: chapter 4 on ImageNet networks needs ImageNet "
                       "validation and test images (activation graphs, lesions), which nnstructure's data loaders "
                       "do not provide")
            continue
        conditions = spec.get("conditions")
        seeds = spec.get("seeds")
        phases = network_phases(config, name)
        wanted = spec.get("phases")
        for bad, have, what in ((conditions, set_conditions(config, name), "conditions"),
                                (seeds, set_seeds(config, name), "seeds"),
                                (wanted, phases, "phases")):
            missing = [x for x in (bad or []) if x not in have]
            if missing:
                raise WorkflowConfigError(
                    f"{analysis}.networks.{entry}.{what} lists {missing}, which network set {name!r} does not have "
                    f"(it has {list(have)})"
                )
        for net in available_networks(config, name, report):
            if conditions is not None and net.condition not in conditions:
                continue
            if seeds is not None and net.seed not in seeds:
                continue
            for phase in phases:
                if wanted is None or phase in wanted:
                    yield AnalysisCell(entry, net, phase)


def used_network_sets(config: dict) -> list[str]:
    """Network sets some enabled analysis uses."""
    out = []
    for analysis in ANALYSES:
        for entry in analysis_entries(config, analysis):
            name = entry_set(config, analysis, entry)
            if name not in out:
                out.append(name)
    return out


# ---------------------------------------------------------------------------------------------
# Clusterability (chapter 3)


def clustering_settings(config: dict, entry: str) -> dict:
    """The clustering settings of an entry (section defaults < entry overrides); k and shuffle as lists."""
    section = {k: v for k, v in (config.get("clusterability") or {}).items() if k in CLUSTERING_KEYS}
    spec = analysis_entry(config, "clusterability", entry)
    settings = {**section, **{k: v for k, v in spec.items() if k in CLUSTERING_KEYS}}
    ks = settings["k"] if isinstance(settings["k"], list) else [settings["k"]]
    kinds = settings["shuffle"] if isinstance(settings["shuffle"], list) else [settings["shuffle"]]
    return {**settings, "k": [int(k) for k in ks], "shuffle": list(kinds)}


def graph_params(config: dict, entry: str, network: Network) -> dict:
    """Graph settings that change this network's graph: none for MLPs (they have no kernels or batch norm)."""
    arch = set_arch(config, network)
    s = clustering_settings(config, entry)
    params: dict[str, Any] = {}
    if arch != "mlp":
        params = {"kernel_norm": s["kernel_norm"], "fold_batchnorm": bool(s["fold_batchnorm"])}
    return params


def _seed_phase(phase: str) -> str:
    """The phase name clustering seeds derive from. Random-init networks were the ``unpruned`` phase of
    zero-epoch training before network sets existed; keeping that name keeps their k-means seeds, and
    so every chapter-3 number, what it was."""
    return "unpruned" if phase == "init" else phase


def cluster_params(config: dict, cell: AnalysisCell, k: int) -> dict:
    s = clustering_settings(config, cell.entry)
    return {"k": int(k), "n_init": s["n_init"], "seed": derive_seed(cell_key(cell), _seed_phase(cell.phase), "cluster", k)}


def shuffle_params(config: dict, cell: AnalysisCell, k: int, kind: str) -> dict:
    s = clustering_settings(config, cell.entry)
    return {
        "k": int(k),
        "n_init": s["n_init"],
        "n_shuffles": int(s["n_shuffles"]),
        "kind": kind,
        "seed": derive_seed(cell_key(cell), _seed_phase(cell.phase), "shuffle", kind, k),
    }


def cell_key(cell: AnalysisCell) -> str:
    """The identity clustering and shuffle seeds derive from: ``<entry>/<condition>/seed<k>``."""
    return f"{cell.entry}/{cell.condition}/seed{cell.seed}"


def row_labels(config: dict, cell: AnalysisCell) -> dict[str, Any]:
    """Identifying columns of a results row, matching the thesis reference keys."""
    name = cell.network.network_set
    kind = network_kind(config, name)
    s = network_set(config, name)
    entry = analysis_entry(config, "clusterability", cell.entry)
    if kind == "pretrained":
        arch = cell.condition.replace("_", "")
        reg, init = "none", "pretrained"
    else:
        cond = set_conditions(config, name)[cell.condition]
        settings = network_settings(config, cell.network)
        arch = s.get("label_arch", s["arch"])
        reg = cond.get("reg", cell.condition)
        init = cond.get("init", "clusterable" if settings.get("clusterable_init") else "glorot")
    return {
        "experiment": cell.entry,
        "network_set": name,
        "condition": cell.condition,
        "seed": cell.seed,
        "kind": kind,
        "table": str(entry.get("table", "")),
        "arch": arch,
        "dataset": set_dataset(config, name),
        "reg": reg,
        "init": init,
        "pruned": cell.phase == "pruned",
        "phase": cell.phase,
        "epochs_variant": s.get("epochs_variant", "default"),
    }


def row_keys(config: dict, results: str) -> list[dict]:
    """One dict per clusterability results row: its entry, network and clustering setting.

    ``kind`` is ``none`` where no shuffles are drawn (``n_shuffles: 0``).
    """
    out = []
    for cell in analysis_cells(config, "clusterability"):
        s = clustering_settings(config, cell.entry)
        kinds = s["shuffle"] if s["n_shuffles"] > 0 else ["none"]
        for k in s["k"]:
            for kind in kinds:
                out.append({"experiment": cell.entry, "condition": cell.condition, "seed": cell.seed,
                            "phase": cell.phase, "k": k, "shuffle": kind})
    return out


def row_targets(config: dict, results: str) -> list[str]:
    paths = ArtifactPaths(results)
    return [paths.clusterability_row(r["experiment"], r["condition"], r["seed"], r["phase"], r["k"], r["shuffle"])
            for r in row_keys(config, results)]


def shuffle_targets(config: dict, results: str) -> list[str]:
    paths = ArtifactPaths(results)
    return [paths.shuffles(r["experiment"], r["condition"], r["seed"], r["phase"], r["k"], r["shuffle"])
            for r in row_keys(config, results) if r["shuffle"] != "none"]


def settings_note(config: dict) -> str:
    """One sentence on the preset's settings for the report header."""
    c = config.get("clusterability") or {}
    t = config.get("train") or {}
    return (
        f"preset '{config['preset']}': default training {t.get('epochs')} + {t.get('prune_epochs')} pruning epochs "
        f"(network sets may override; see the settings column), k = {c.get('k')}, {c.get('n_shuffles')} "
        f"'{c.get('shuffle')}' shuffles, n_init = {c.get('n_init')}, kernel norm {c.get('kernel_norm')}, "
        f"batch-norm folding {c.get('fold_batchnorm')} (entries may override)."
    )


# ---------------------------------------------------------------------------------------------
# Importance and coherence (chapter 4)


def specialization_settings(config: dict, entry: str) -> dict:
    """The chapter-4 settings of an entry (section defaults < entry overrides); ``k`` as a list."""
    section = config.get("specialization") or {}
    spec = analysis_entry(config, "specialization", entry)
    settings = {k: v for k, v in section.items() if k != "networks"}
    settings.update({k: v for k, v in spec.items() if k in SPECIALIZATION_KEYS})
    settings["visualization"] = {**(section.get("visualization") or {}), **(spec.get("visualization") or {})}
    ks = settings["k"] if isinstance(settings["k"], list) else [settings["k"]]
    return {**settings, "k": [int(k) for k in ks]}


def specialization_condition(cell: AnalysisCell) -> str:
    """The group whose replicates (seeds) the statistics combine: entry, condition and phase."""
    return f"{cell.entry}:{cell.condition}:{cell.phase}"


def partition_params(config: dict, cell: AnalysisCell, partitioning: str, k: int) -> dict:
    """What a partition depends on: graph settings only where they apply (weights of conv nets, activations)."""
    s = specialization_settings(config, cell.entry)
    graph, scope = partitioning.split("-")
    params = {"partitioning": partitioning, "k": int(k), "n_init": s["n_init"],
              "seed": derive_seed(cell_key(cell), cell.phase, "partition", partitioning, k)}
    if graph == "act":
        params["validation_size"] = int(s["validation_size"])
    elif set_arch(config, cell.network) != "mlp":
        params.update(kernel_norm=s["kernel_norm"], fold_batchnorm=bool(s["fold_batchnorm"]))
    if scope == "layer":
        params["layer_scope"] = s["layer_scope"]
    return params


def proxy_params(config: dict, cell: AnalysisCell, partitioning: str, k: int, proxy: str) -> dict:
    """What one proxy's measurements depend on (visualisation settings only for the visualisation proxy)."""
    s = specialization_settings(config, cell.entry)
    params = {"proxy": proxy, "n_random": int(s["n_random"]), "random_pool": s["random_pool"],
              "seed": derive_seed(cell_key(cell), cell.phase, "proxy", partitioning, k, proxy),
              "condition": specialization_condition(cell), "replicate": str(cell.seed)}
    if proxy == "visualization":
        params["visualization"] = {key: value for key, value in s["visualization"].items() if value is not None}
    return params


def specialization_keys(config: dict) -> list[dict]:
    """One dict per proxy job: entry, condition, seed, phase, partitioning, k, proxy."""
    out = []
    for cell in analysis_cells(config, "specialization"):
        s = specialization_settings(config, cell.entry)
        for partitioning in s["partitionings"]:
            for k in s["k"]:
                for proxy in s["proxies"]:
                    out.append({"entry": cell.entry, "condition": cell.condition, "seed": cell.seed,
                                "phase": cell.phase, "partitioning": partitioning, "k": k, "proxy": proxy})
    return out


def specialization_result_targets(config: dict, results: str) -> list[str]:
    paths = ArtifactPaths(results)
    return [paths.proxy_results(r["entry"], r["condition"], r["seed"], r["phase"], r["partitioning"], r["k"], r["proxy"])
            for r in specialization_keys(config)]


def specialization_image_targets(config: dict, results: str) -> list[str]:
    paths = ArtifactPaths(results)
    return [paths.proxy_images(r["entry"], r["condition"], r["seed"], r["phase"], r["partitioning"], r["k"])
            for r in specialization_keys(config) if r["proxy"] == "visualization"]


def specialization_stats_params(config: dict) -> dict:
    s = config.get("specialization") or {}
    return {"ties": s["ties"], "alpha": float(s["alpha"]), "family_class_range": s["family_class_range"]}


# ---------------------------------------------------------------------------------------------
# Reward models (chapter 5): transition datasets, chapter-5 networks, their analyses and probes


def transition_dataset(config: dict, name: str) -> dict:
    """A transition dataset's settings with the step defaults filled in."""
    from nnstructure.reward.settings import TRANSITION_SETTINGS, defaults

    datasets = config.get("transitions") or {}
    if name not in datasets:
        raise WorkflowConfigError(f"unknown transition dataset {name!r}; config 'transitions' has: {', '.join(datasets) or 'none'}")
    return {**defaults(TRANSITION_SETTINGS), **datasets[name]}


def used_transition_datasets(config: dict) -> list[str]:
    names = [n for n in enabled_network_sets(config) if network_kind(config, n) in ("reward", "adversarial")]
    return sorted({set_dataset(config, n) for n in names})


def shard_params(config: dict, name: str, shard: int) -> dict:
    """A shard's settings (its index picks its levels: seed * 1e6 + shard * episodes_per_shard + j)."""
    from nnstructure.reward.settings import SHARD_KEYS

    s = transition_dataset(config, name)
    return {**{k: s[k] for k in SHARD_KEYS if s.get(k) is not None}, "shard": int(shard)}


def merge_params(config: dict, name: str) -> dict:
    s = transition_dataset(config, name)
    return {"shards": int(s["shards"]), "test_fraction": float(s["test_fraction"]), "split_seed": int(s["seed"])}


def edit_params(config: dict, name: str) -> dict:
    s = transition_dataset(config, name)
    return {"n": int(s["edits"]), "seed": int(s["seed"])}


def has_edits(config: dict, name: str) -> bool:
    s = transition_dataset(config, name)
    return s["game"] == "coinrun" and int(s["edits"]) > 0


def ch5_settings(config: dict, network: Network) -> dict:
    """A chapter-5 network's settings: the step's defaults < the set's ``train`` < the condition."""
    from nnstructure.reward.settings import NETWORK_KIND_SETTINGS, defaults

    kind = network_kind(config, network.network_set)
    s = network_set(config, network.network_set)
    cond = set_conditions(config, network.network_set)[network.condition]
    table = NETWORK_KIND_SETTINGS[kind]
    settings = {**defaults(table), **(s.get("train") or {}), **{k: v for k, v in cond.items() if k not in CONDITION_LABELS}}
    missing = [k for k, spec in table.items() if k not in settings and "default" not in spec]
    if missing:
        raise WorkflowConfigError(
            f"network set {network.network_set!r}, condition {network.condition!r}: {kind} networks need {missing} "
            "(set them under the set's 'train' or the condition)"
        )
    return settings


def ch5_train_params(config: dict, network: Network) -> dict:
    """What a chapter-5 network depends on (Snakemake params); its data is a declared input. No display label:
    that changes with the number of seeds in the set, which does not change this network."""
    return {"kind": network_kind(config, network.network_set), "seed": network_seed(network) % (2**31),
            "settings": ch5_settings(config, network)}


def network_label(config: dict, network: Network) -> str:
    """How a chapter-5 network is named in tables: ``<set>-<condition>`` (``-seed<k>`` with several seeds)."""
    label = network.network_set if network.condition == "none" else f"{network.network_set}-{network.condition}"
    return label if len(set_seeds(config, network.network_set)) == 1 else f"{label}-seed{network.seed}"


def job_network_name(wildcards) -> str:
    """The name a job's own outputs give its network: ``<set or analysis entry>/<condition>/seed<k>``.

    Fixed by the job's wildcards, so it never asks for a rerun; the tables get
    the display labels (:func:`network_label`) when chapter 5 is aggregated.
    """
    owner = wildcards.get("network_set") or wildcards.get("entry")
    return f"{owner}/{wildcards.get('condition')}/seed{wildcards.get('seed')}"


def reward_aggregate_sources(config: dict, results: str) -> dict[str, list[tuple[str, dict]]]:
    """Every file the chapter-5 aggregation reads, per named input, each with the columns its rows get.

    The columns are what the tables say about a file's rows: the network's
    display name (:func:`network_label`, which gains ``-seed<k>`` once its set
    has several seeds), the thesis network it stands for, its set, condition and
    seed, a dataset's name, a probe's initialisation, a visualisation's mode.
    They reach the aggregation as its params (:func:`reward_aggregate_columns`),
    the only place display labels are params; the files are its inputs
    (:func:`reward_aggregate_inputs`), in the same order, named as
    :data:`nnstructure.reward.aggregate.INPUT_TABLES` says.
    """
    from nnstructure.reward.aggregate import INPUT_TABLES

    paths = ArtifactPaths(results)
    sources: dict[str, list[tuple[str, dict]]] = {name: [] for name in INPUT_TABLES}
    for name in used_transition_datasets(config):
        sources["datasets"].append((paths.transitions_table(name, "summary"), {"dataset": name}))

    for set_name in enabled_network_sets(config):
        kind = network_kind(config, set_name)
        if kind not in CH5_KINDS:
            continue
        for net in networks_of(config, set_name):
            ids = {"network": network_label(config, net), "network_set": set_name, "condition": net.condition,
                   "seed": net.seed}
            where = (net.network_set, net.condition, net.seed)
            if kind == "reward":
                sources["reward_rows"].append((paths.network_row(*where, kind),
                                               {**ids, "thesis_network": thesis_network(config, net)}))
                sources["reward_metrics"].append((paths.training_metrics(*where, kind), ids))
            elif kind == "dots":
                sources["dots_rows"].append((paths.network_row(*where, kind), ids))
            else:
                sources["adversarial_summaries"].append((paths.adversarial_file(*where, "summary.parquet"), ids))
                sources["adversarial_epochs"].append((paths.adversarial_file(*where, "epochs.parquet"), ids))
                sources["adversarial_examples"].append((paths.adversarial_file(*where, "examples"), ids))

    for job in reward_jobs(config):
        network = entry_network(config, "reward", job["entry"], job["condition"], job["seed"])
        adversarial = network_kind(config, network.network_set) == "adversarial"
        labels = {"network": network_label(config, network), "thesis_network": thesis_network(config, network)}
        path = paths.reward_test(job["entry"], job["condition"], job["seed"], job["phase"], job["test"], job["variant"])
        if job["test"] == "visualization":
            sources["visualizations"].append((path, {**labels, "mode": job["variant"]}))
        else:
            sources[f"adversarial_{job['test']}" if adversarial else job["test"]].append((path, labels))

    for job in probe_jobs(config):
        network = entry_network(config, "probes", job["entry"], job["condition"], job["seed"])
        path = paths.probe_row(job["entry"], job["condition"], job["seed"], job["phase"], job["init"], job["layer"],
                               job["target"], job["filtered"])
        sources["probes"].append((path, {"network": network_label(config, network), "init_kind": job["init"],
                                         "thesis_network": thesis_network(config, network) or ""}))
    # In path order: the params (and the tables' row order) do not depend on the order of the config's keys.
    return {name: sorted(files, key=lambda item: item[0]) for name, files in sources.items()}


def reward_aggregate_inputs(config: dict, results: str) -> dict[str, list[str]]:
    """The chapter-5 aggregation's named inputs (lists of files; see :func:`reward_aggregate_sources`)."""
    return {name: [path for path, _ in files] for name, files in reward_aggregate_sources(config, results).items()}


def reward_aggregate_columns(config: dict, results: str) -> dict[str, list[dict]]:
    """The columns the rows of each input file get, in the order of :func:`reward_aggregate_inputs` (its params)."""
    return {name: [columns for _, columns in files] for name, files in reward_aggregate_sources(config, results).items()}


def thesis_network(config: dict, network: Network) -> str | None:
    """Which thesis network (``coinrun-15``, ``coinrun-40``, ``heist``, ``adversarial``, ``dots``) one of ours stands for."""
    cond = set_conditions(config, network.network_set)[network.condition]
    s = network_set(config, network.network_set)
    value = cond.get("thesis_network", s.get("thesis_network"))
    if value is None and network_kind(config, network.network_set) in ("adversarial", "dots"):
        return network_kind(config, network.network_set)
    return value


def reward_settings(config: dict, entry: str) -> dict:
    section = {k: v for k, v in (config.get("reward") or {}).items() if k != "networks"}
    spec = analysis_entry(config, "reward", entry)
    return {**section, **{k: v for k, v in spec.items() if k in section}}


def reward_jobs(config: dict) -> list[dict]:
    """Every chapter-5 test of a reward net: noise (per clip variant), edited transitions, visualisations."""
    out = []
    for cell in analysis_cells(config, "reward"):
        s = reward_settings(config, cell.entry)
        dataset = set_dataset(config, cell.network.network_set)
        base = {"entry": cell.entry, "condition": cell.condition, "seed": cell.seed, "phase": cell.phase}
        for clip in s["noise_clip"]:
            out.append({**base, "test": "noise", "variant": "clip" if clip else "noclip"})
        if has_edits(config, dataset):
            out.append({**base, "test": "edits", "variant": "edits"})
        for mode in s["visualization_modes"]:
            if mode == "from-edits" and not has_edits(config, dataset):
                continue
            out.append({**base, "test": "visualization", "variant": mode})
    return out


def probe_settings(config: dict, entry: str) -> dict:
    section = {k: v for k, v in (config.get("probes") or {}).items() if k != "networks"}
    spec = analysis_entry(config, "probes", entry)
    return {**section, **{k: v for k, v in spec.items() if k in section or k in ("targets", "filtered")}}


def probe_inits(config: dict, entry: str) -> list[str]:
    """``trained`` plus one ``random<k>`` per randomly initialised baseline network."""
    return ["trained"] + [f"random{k}" for k in range(int(probe_settings(config, entry)["random_networks"]))]


def probe_jobs(config: dict) -> list[dict]:
    """One dict per probe fit: entry, network, phase, init (trained/random<k>), layer, target, filtered."""
    out = []
    for cell in analysis_cells(config, "probes"):
        s = probe_settings(config, cell.entry)
        base = {"entry": cell.entry, "condition": cell.condition, "seed": cell.seed, "phase": cell.phase}
        fits = [(t, False) for t in s["targets"]] + [(t, True) for t in s.get("filtered") or []]
        for init in probe_inits(config, cell.entry):
            for layer in s["layers"]:
                for target, filtered in fits:
                    out.append({**base, "init": init, "layer": int(layer), "target": target,
                                "filtered": "filtered" if filtered else "all"})
    return out


def probe_features_params(config: dict, cell: AnalysisCell, init: str) -> dict:
    """A feature cache holds every probe layer (:data:`PROBE_LAYERS`), whichever ``probes.layers`` asks for."""
    s = probe_settings(config, cell.entry)
    params: dict[str, Any] = {"layers": list(PROBE_LAYERS)}
    if network_kind(config, cell.network.network_set) == "dots":
        params.update(dots_seed=int(s["dots_seed"]), dots_n=int(s["dots_n"]))
    if init != "trained":
        params["random_init"] = derive_seed(cell_key(cell), cell.phase, "probe-random", init) % (2**31)
    return params


def probe_fit_params(config: dict, cell: AnalysisCell, init: str, layer: int, target: str, filtered: str) -> dict:
    """A probe's settings; the thesis network only where it sets the epochs (no ``probes.epochs``)."""
    s = probe_settings(config, cell.entry)
    params = {"layer": int(layer), "target": target, "filtered": filtered == "filtered",
              "seed": derive_seed(cell_key(cell), cell.phase, "probe-fit", init, layer, target, filtered) % (2**31)}
    if s.get("epochs") is not None:
        params["epochs"] = int(s["epochs"])
    else:
        params["thesis_network"] = thesis_network(config, cell.network) or ""
    return params


# ---------------------------------------------------------------------------------------------
# Where a run's outputs go (the Makefile's report step)


def run_output_dir(snakemake_args: list[str]) -> str:
    """``<results_dir>/<preset>`` of the Snakemake run these command-line arguments start.

    As Snakemake reads them: the ``--configfile`` files in order, then the
    ``--config KEY=VALUE`` overrides, relative to ``--directory``; the schema's
    defaults (``results``, ``default``) for what none of them sets.
    """
    import yaml
    from snakemake.cli import get_argument_parser, parse_config
    from snakemake.utils import update_config

    args, _ = get_argument_parser().parse_known_args(snakemake_args)
    config: dict = {}
    for path in args.configfile or [Path("config.yaml")]:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    if args.config:
        update_config(config, parse_config(args.config))
    results = Path(str(config.get("results_dir", "results")))
    if args.directory is not None and not results.is_absolute():
        results = Path(args.directory) / results
    return f"{results.as_posix()}/{config.get('preset', 'default')}"


def main(argv: list[str] | None = None) -> int:
    """``python -m nnstructure.workflow_config SNAKEMAKE_ARGS...``: print the run's output folder."""
    print(run_output_dir(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
