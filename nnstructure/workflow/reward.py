"""Chapter 5 (reward models): transition datasets, chapter-5 networks, their tests and probes, the
aggregation's inputs and the chapter's targets."""

from __future__ import annotations

from typing import Any

from nnstructure.paths import ArtifactPaths
from nnstructure.seeding import derive_seed
from nnstructure.workflow.config import (
    CH5_KINDS,
    CONDITION_LABELS,
    AnalysisCell,
    Network,
    WorkflowConfigError,
    analysis_cells,
    cell_key,
    enabled_network_sets,
    entry_network,
    entry_settings,
    network_kind,
    network_seed,
    network_set,
    networks_of,
    set_conditions,
    set_dataset,
    set_seeds,
)

#: The ReLU layers a probe can read (the five convolutions of chapter 5's networks). A feature cache holds all
#: of them, so choosing other ``probes.layers`` fits the new layers' probes from the caches already made.
PROBE_LAYERS = (0, 1, 2, 3, 4)
#: The aggregated chapter-5 tables, and which of them each chapter-5 report module reads.
CH5_TABLES = ("datasets", "reward_nets", "reward_net_metrics", "noise", "edits", "visualizations",
              "visualization_controls", "visualization_images", "probes", "adversarial", "adversarial_epochs",
              "adversarial_examples", "adversarial_edits", "adversarial_noise", "dots_nets", "dots_net_metrics")
CH5_REPORT_INPUTS = {
    "ch5": ("datasets", "reward_nets", "reward_net_metrics", "noise", "edits", "visualizations",
            "visualization_controls", "visualization_images", "adversarial"),
    "ch5_part2": ("probes", "adversarial", "adversarial_epochs", "adversarial_examples", "adversarial_edits",
                  "adversarial_noise", "dots_nets", "dots_net_metrics", "reward_nets", "visualizations"),
}
#: The chapter-5 report modules (each with its own scorecard).
CH5_REPORTS = tuple(CH5_REPORT_INPUTS)


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
    from nnstructure.reward.settings import NETWORK_KIND_SETTINGS, defaults, without_unset

    kind = network_kind(config, network.network_set)
    s = network_set(config, network.network_set)
    cond = set_conditions(config, network.network_set)[network.condition]
    table = NETWORK_KIND_SETTINGS[kind]
    settings = without_unset({**defaults(table), **(s.get("train") or {}),
                              **{k: v for k, v in cond.items() if k not in CONDITION_LABELS}})
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
                sources["dots_metrics"].append((paths.training_metrics(*where, kind), ids))
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
    """The chapter-5 test settings of a reward entry (:func:`entry_settings`)."""
    return entry_settings(config, "reward", entry)


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
    """The probe settings of a probes entry (:func:`entry_settings`)."""
    return entry_settings(config, "probes", entry)


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
    elif s.get("transitions_n") is not None:  # absent when every transition is probed: those params stay as they were
        params["transitions_n"] = int(s["transitions_n"])
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
# Targets


def ch5_targets(config: dict, results: str, networks: list[Network]) -> list[str]:
    """The chapter-5 reports' scorecards, when the config has chapter-5 networks (of ``networks``, the ones
    that can be built) or transition datasets."""
    if not ([net for net in networks if network_kind(config, net.network_set) in CH5_KINDS]
            or used_transition_datasets(config)):
        return []
    paths = ArtifactPaths(results)
    return [paths.report_file("scorecard.parquet", chapter) for chapter in CH5_REPORTS]


def edited_transition_datasets(config: dict) -> list[str]:
    """The transition datasets with edited transitions that some reward entry's networks learnt from."""
    names = {set_dataset(config, cell.network.network_set) for cell in analysis_cells(config, "reward")}
    return sorted(name for name in names if has_edits(config, name))
