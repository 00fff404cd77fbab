"""Chapter 3 (clusterability): an entry's clustering settings, the params of its jobs, its rows and targets."""

from __future__ import annotations

from typing import Any

from nnstructure.paths import ArtifactPaths
from nnstructure.seeding import derive_seed
from nnstructure.workflow.config import (
    ENTRY_SETTINGS,
    AnalysisCell,
    Network,
    analysis_cells,
    analysis_entries,
    analysis_entry,
    as_list,
    cell_key,
    entry_settings,
    network_kind,
    network_set,
    network_settings,
    set_arch,
    set_conditions,
    set_dataset,
)

#: The clustering settings an entry may override (all of the section's).
CLUSTERING_KEYS = ENTRY_SETTINGS["clusterability"]


def k_setting(value) -> int | str:
    """A ``k`` of the clusterability section or its ``{k}`` wildcard: an int, or ``"auto"`` (the eigengap choice
    on the network's graph, :func:`nnstructure.cluster.choose_k.resolve_k`)."""
    return "auto" if value == "auto" else int(value)


def clustering_settings(config: dict, entry: str) -> dict:
    """The clustering settings of an entry (:func:`entry_settings`); k and shuffle as lists."""
    settings = entry_settings(config, "clusterability", entry)
    return {**settings, "k": [k_setting(k) for k in as_list(settings["k"])], "shuffle": as_list(settings["shuffle"])}


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


def method_params(config: dict, entry: str) -> dict:
    """The partition method of an entry's cluster and shuffle jobs (issue 21): ``{method, method_settings}``
    (the method's settings from ``method_settings``, checked), or nothing for the thesis's spectral clustering,
    so that a spectral job's params, and so whether it reruns, are what they were before methods existed."""
    from nnstructure.cluster.methods import check_method, method_settings

    s = clustering_settings(config, entry)
    method = s.get("method") or "spectral"
    check_method(method)
    if method == "spectral":
        return {}
    given = (s.get("method_settings") or {}).get(method) or {}
    return {"method": method, "method_settings": method_settings(method, given)}


def method_entries(config: dict) -> tuple[list[str], list[str]]:
    """``(spectral entries, entries partitioned by another method)`` of the clusterability section.

    Their cluster and shuffles jobs are different rules (``cluster`` / ``shuffles`` and ``cluster_by_method`` /
    ``shuffles_by_method``), so the spectral rules, their scripts and so their jobs stay exactly as they were."""
    spectral, other = [], []
    for entry in analysis_entries(config, "clusterability"):
        (other if method_params(config, entry) else spectral).append(entry)
    return spectral, other


def cluster_params(config: dict, cell: AnalysisCell, k: int | str) -> dict:
    s = clustering_settings(config, cell.entry)
    k = k_setting(k)
    return {"k": k, "n_init": s["n_init"], "seed": derive_seed(cell_key(cell), _seed_phase(cell.phase), "cluster", k),
            **method_params(config, cell.entry)}


def shuffle_params(config: dict, cell: AnalysisCell, k: int | str, kind: str) -> dict:
    s = clustering_settings(config, cell.entry)
    k = k_setting(k)
    return {
        "k": k,
        "n_init": s["n_init"],
        "n_shuffles": int(s["n_shuffles"]),
        "kind": kind,
        "seed": derive_seed(cell_key(cell), _seed_phase(cell.phase), "shuffle", kind, k),
        **method_params(config, cell.entry),
    }


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
        f"batch-norm folding {c.get('fold_batchnorm')}{_method_note(c)} (entries may override)."
    )


def _method_note(section: dict) -> str:
    """The partition method, where it is not the thesis's spectral clustering (then the note is as it was)."""
    method = section.get("method") or "spectral"
    if method == "spectral":
        return ""
    settings = (section.get("method_settings") or {}).get(method) or {}
    given = ", ".join(f"{key} {value}" for key, value in sorted(settings.items()))
    return f", partition method {method}{f' ({given})' if given else ''} on the networks and their shuffles"


def clusterability_targets(config: dict, results: str, cells: list[AnalysisCell]) -> list[str]:
    """Chapter 3's table and scorecard, when some clusterability cell (of ``cells``, the ones that can run) exists."""
    if not cells:
        return []
    paths = ArtifactPaths(results)
    return [paths.table("clusterability"), paths.report_file("scorecard.md", "ch3")]
