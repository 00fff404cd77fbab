"""Resolve a validated workflow config into experiment cells and per-rule params.

The Snakefile stays thin: it asks this module which networks exist, where
their artifacts live and which config subset each rule depends on. Keeping the
logic here makes it testable without Snakemake.

Vocabulary
----------
experiment  a block of ``config['experiments']``: one architecture on one
            dataset, with a set of conditions and seeds (e.g. ``mlp-mnist``).
condition   a named training variant inside an experiment (``none``,
            ``dropout``, ``l1``, ``l2``, ``clusterable``, ...); its mapping holds
            the training settings it overrides, plus optional labels ``reg``
            and ``init`` used to match thesis table rows.
cell        one network: (experiment, condition, seed).
phase       ``unpruned`` (end of the unpruned phase) or ``pruned`` (end of
            training) when the experiment prunes; only ``unpruned`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from nnstructure.seeding import derive_seed

# Keys of a condition mapping that are labels, not training settings.
CONDITION_LABELS = ("reg", "init")
TRAIN_KEYS = (
    "epochs",
    "prune_epochs",
    "batch_size",
    "lr",
    "dropout",
    "l1",
    "l2",
    "initial_sparsity",
    "final_sparsity",
    "prune_frequency",
    "prune_power",
    "clusterable_init",
    "ci_groups",
    "ci_beta",
    "spectral_reg",
    "spectral_reduction",
    "l2_first_layer_l1",
    "shuffle",
    "augment",
    "widths",
)
CLUSTER_KEYS = ("k", "n_init", "n_shuffles", "shuffle", "kernel_norm", "fold_batchnorm")


@dataclass(frozen=True)
class Cell:
    experiment: str
    condition: str
    seed: int

    @property
    def path(self) -> str:
        return f"{self.experiment}/{self.condition}/seed{self.seed}"


def experiment(config: dict, name: str) -> dict:
    try:
        return config["experiments"][name]
    except KeyError:
        known = ", ".join(sorted(config.get("experiments", {})))
        raise ValueError(f"unknown experiment {name!r}; config 'experiments' has: {known}") from None


def enabled_experiments(config: dict) -> list[str]:
    return [n for n, e in config.get("experiments", {}).items() if e.get("enabled", True)]


def cells(config: dict, experiment_name: str | None = None) -> Iterator[Cell]:
    names = [experiment_name] if experiment_name else enabled_experiments(config)
    for name in names:
        exp = experiment(config, name)
        for cond in exp["conditions"]:
            for seed in exp["seeds"]:
                yield Cell(name, cond, int(seed))


def train_settings(config: dict, experiment_name: str, condition: str) -> dict:
    """The complete training settings of one condition (defaults < experiment < condition)."""
    exp = experiment(config, experiment_name)
    if condition not in exp["conditions"]:
        raise ValueError(
            f"experiment {experiment_name!r} has no condition {condition!r}; "
            f"it has {', '.join(exp['conditions'])}"
        )
    settings = {**config.get("train", {}), **exp.get("train", {})}
    overrides = exp["conditions"][condition] or {}
    settings.update({k: v for k, v in overrides.items() if k not in CONDITION_LABELS})
    unknown = sorted(set(settings) - set(TRAIN_KEYS))
    if unknown:
        raise ValueError(
            f"experiments.{experiment_name}.conditions.{condition}: unknown training setting(s) {unknown}; "
            f"allowed: {', '.join(TRAIN_KEYS)}"
        )
    return settings


def train_params(config: dict, cell: Cell) -> dict:
    """Everything the training job's output depends on (Snakemake params)."""
    exp = experiment(config, cell.experiment)
    return {
        "arch": exp["arch"],
        "dataset": exp["dataset"],
        "train": train_settings(config, cell.experiment, cell.condition),
        "seed": derive_seed(cell.experiment, cell.condition, cell.seed),
        "device": config.get("device", "auto"),
    }


def dataset_params(config: dict, dataset: str) -> dict:
    opts = (config.get("datasets") or {}).get(dataset) or {}
    return {
        "n_train": opts.get("n_train"),
        "n_test": opts.get("n_test"),
        "seed": int(opts.get("seed", 0)),
    }


def phases(config: dict, experiment_name: str) -> list[str]:
    exp = experiment(config, experiment_name)
    prune = {**config.get("train", {}), **exp.get("train", {})}.get("prune_epochs", 0)
    prunes = [prune] + [
        (c or {}).get("prune_epochs", prune) for c in exp["conditions"].values()
    ]
    if exp.get("kind") == "random_init" or not any(prunes):
        return ["unpruned"]
    if all(prunes):
        return list(exp.get("phases", ["unpruned", "pruned"]))
    raise ValueError(
        f"experiment {experiment_name!r}: conditions disagree on whether to prune (prune_epochs); "
        "split them into two experiments"
    )


def clustering_settings(config: dict, experiment_name: str) -> dict:
    exp = experiment(config, experiment_name)
    settings = {**config["clustering"], **(exp.get("clustering") or {})}
    if exp.get("kind") == "random_init":
        settings["n_shuffles"] = 0
    ks = settings["k"] if isinstance(settings["k"], list) else [settings["k"]]
    kinds = settings["shuffle"] if isinstance(settings["shuffle"], list) else [settings["shuffle"]]
    return {**settings, "k": [int(k) for k in ks], "shuffle": list(kinds)}


def graph_params(config: dict, experiment_name: str) -> dict:
    s = clustering_settings(config, experiment_name)
    return {"kernel_norm": s["kernel_norm"], "fold_batchnorm": bool(s["fold_batchnorm"])}


def cluster_params(config: dict, cell: Cell, phase: str, k: int) -> dict:
    s = clustering_settings(config, cell.experiment)
    return {"k": int(k), "n_init": s["n_init"], "seed": derive_seed(cell.path, phase, "cluster", k)}


def shuffle_params(config: dict, cell: Cell, phase: str, k: int, kind: str) -> dict:
    s = clustering_settings(config, cell.experiment)
    return {
        "k": int(k),
        "n_init": s["n_init"],
        "n_shuffles": int(s["n_shuffles"]),
        "kind": kind,
        "seed": derive_seed(cell.path, phase, "shuffle", kind, k),
    }


def row_labels(config: dict, cell: Cell, phase: str) -> dict[str, Any]:
    """Identifying columns of a results row, matching the thesis reference keys."""
    exp = experiment(config, cell.experiment)
    cond = exp["conditions"][cell.condition] or {}
    settings = train_settings(config, cell.experiment, cell.condition)
    return {
        "experiment": cell.experiment,
        "condition": cell.condition,
        "seed": cell.seed,
        "kind": exp.get("kind", "clusterability"),
        "arch": exp.get("label_arch", exp["arch"]),
        "dataset": exp["dataset"],
        "reg": cond.get("reg", cell.condition),
        "init": cond.get("init", "clusterable" if settings.get("clusterable_init") else "glorot"),
        "pruned": phase == "pruned",
        "phase": phase,
        "epochs_variant": exp.get("epochs_variant", "default"),
        "epochs": settings.get("epochs"),
        "prune_epochs": settings.get("prune_epochs"),
    }


def row_targets(config: dict, results: str) -> list[str]:
    """Per-network, per-setting result rows the aggregation rule gathers.

    ``kind`` is ``none`` where no shuffles are drawn (random-init networks).
    """
    out = []
    for cell in cells(config):
        s = clustering_settings(config, cell.experiment)
        kinds = s["shuffle"] if s["n_shuffles"] > 0 else ["none"]
        for phase in phases(config, cell.experiment):
            for k in s["k"]:
                for kind in kinds:
                    out.append(f"{results}/rows/{cell.path}/{phase}-k{k}-{kind}.parquet")
    return out


def shuffle_targets(config: dict, results: str) -> list[str]:
    """The shuffle tables behind :func:`row_targets`, in the same order (rows with shuffles only)."""
    return [
        t.replace(f"{results}/rows/", f"{results}/shuffles/", 1)
        for t in row_targets(config, results)
        if not t.endswith("-none.parquet")
    ]
