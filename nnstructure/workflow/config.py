"""A validated workflow config as networks, analysis cells and the params of the network rules.

The Snakefile stays thin: it asks this package which networks exist, which
analysis cells use them and which settings each rule's output depends on.
This module holds what every chapter shares; the chapters' own params and
targets are in :mod:`.clusterability`, :mod:`.specialization` and
:mod:`.reward`. Keeping the logic here makes it testable without Snakemake.

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
analysis     a top-level section (:data:`ANALYSES`) with its own settings and a
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

Settings of an analysis entry
-----------------------------
One rule for every analysis (:func:`entry_settings`): the section's settings
are the defaults, and an entry overrides those of them that
:data:`ENTRY_SETTINGS` lists for its analysis (the others are section-wide); a
mapping setting (chapter 4's ``visualization``) is merged key by key.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nnstructure.seeding import derive_seed
from nnstructure.workflow.files import file_checksum

#: The kinds of network set (``kind`` in a set of ``config['networks']``; the schema's enum).
NETWORK_KINDS = ("trained", "random_init", "pretrained", "reward", "adversarial", "dots")
#: Chapter-5 network kinds: trained by their own steps on transition datasets or dots images.
CH5_KINDS = ("reward", "adversarial", "dots")
# Keys of a condition mapping that are table labels, not settings.
CONDITION_LABELS = ("reg", "init", "thesis_network")
#: Names of network sets, conditions and analysis entries (also a Snakemake wildcard constraint).
NAME_REGEX = r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*"
#: Analyses whose ``networks`` entries select network sets.
ANALYSES = ("clusterability", "specialization", "reward", "probes", "partition_methods")
#: The network kinds each analysis can run on.
ANALYSIS_KINDS = {
    "clusterability": ("trained", "random_init", "pretrained"),
    "specialization": ("trained", "pretrained"),
    "reward": ("reward", "adversarial"),
    "probes": ("reward", "adversarial", "dots"),
    "partition_methods": ("trained",),
}
#: The settings an entry of each analysis may override (:func:`entry_settings`); the section's other settings
#: are section-wide (chapter 4's ties, alpha and BH family).
ENTRY_SETTINGS = {
    "clusterability": ("k", "n_init", "n_shuffles", "shuffle", "kernel_norm", "fold_batchnorm", "method",
                       "method_settings"),
    "specialization": ("k", "n_init", "partitionings", "proxies", "n_random", "random_pool", "validation_size",
                       "layer_scope", "kernel_norm", "fold_batchnorm", "visualization", "method", "method_settings"),
    "reward": ("noise_n", "noise_clip", "visualization_modes", "visualization_steps"),
    "probes": ("layers", "targets", "filtered", "random_networks", "epochs", "dots_seed", "dots_n", "transitions_n"),
    "partition_methods": ("methods", "k", "k_max", "method_settings", "n_shuffles", "shuffle", "proxies", "n_random",
                          "random_pool", "visualization", "kernel_norm", "fold_batchnorm"),
}


def one_of(names) -> str:
    """A regular expression (a Snakemake wildcard constraint) matching exactly one of ``names``."""
    return "|".join(re.escape(str(name)) for name in names)


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
    from jsonschema import Draft202012Validator, validators

    from nnstructure.config_check import load_schema

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

    root = load_schema(schema_path)
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


def entry_settings(config: dict, analysis: str, entry: str) -> dict:
    """An entry's settings: the section's settings (every key but ``networks``) < the entry's overrides.

    The one merge rule of every analysis: an entry overrides the settings
    :data:`ENTRY_SETTINGS` lists for its analysis, and a mapping setting is
    merged key by key (an entry's ``visualization: {steps: 10}`` keeps the
    section's ``method``).
    """
    section = {k: v for k, v in (config.get(analysis) or {}).items() if k != "networks"}
    spec = analysis_entry(config, analysis, entry)
    settings = dict(section)
    for key in ENTRY_SETTINGS[analysis]:
        if key not in spec:
            continue
        value = spec[key]
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            value = {**section[key], **value}
        settings[key] = value
    return settings


def as_list(value) -> list:
    """A setting that takes one value or a list (``k``, ``shuffle``) as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def wildcard_cell(config: dict, analysis: str, wildcards) -> AnalysisCell:
    """The analysis cell a job of ``analysis`` works on, from its ``entry``, ``condition``, ``seed`` and ``phase`` wildcards."""
    network = entry_network(config, analysis, wildcards.entry, wildcards.condition, wildcards.seed)
    return AnalysisCell(wildcards.entry, network, wildcards.phase)


def cell_key(cell: AnalysisCell) -> str:
    """The identity clustering and shuffle seeds derive from: ``<entry>/<condition>/seed<k>``."""
    return f"{cell.entry}/{cell.condition}/seed{cell.seed}"



def job_network_name(wildcards) -> str:
    """The name a job's own outputs give its network: ``<set or analysis entry>/<condition>/seed<k>``.

    Fixed by the job's wildcards, so it never asks for a rerun; the tables get
    the display labels (:func:`network_label`) when chapter 5 is aggregated.
    """
    owner = wildcards.get("network_set") or wildcards.get("entry")
    return f"{owner}/{wildcards.get('condition')}/seed{wildcards.get('seed')}"
