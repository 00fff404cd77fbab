"""The partition-methods comparison (issue 21): an entry's settings, the params of its jobs and its targets."""

from __future__ import annotations

from nnstructure.paths import ArtifactPaths, seed_dir
from nnstructure.seeding import derive_seed
from nnstructure.workflow.config import (
    ENTRY_SETTINGS,
    AnalysisCell,
    analysis_cells,
    cell_key,
    entry_settings,
    set_arch,
)

#: The comparison settings an entry may override (all of the section's).
PARTITION_METHODS_KEYS = ENTRY_SETTINGS["partition_methods"]
ANALYSIS = "partition_methods"


def partition_methods_settings(config: dict, entry: str) -> dict:
    """The comparison settings of an entry (:func:`entry_settings`)."""
    settings = entry_settings(config, ANALYSIS, entry)
    return {**settings, "visualization": dict(settings.get("visualization") or {}),
            "method_settings": {m: dict(v or {}) for m, v in (settings.get("method_settings") or {}).items()}}


def partition_methods_params(config: dict, cell: AnalysisCell) -> dict:
    """What one network's comparison depends on: the settings of
    :func:`nnstructure.cluster.method_comparison.compare_partition_methods` (graph settings only where they apply)."""
    s = partition_methods_settings(config, cell.entry)
    methods = list(s["methods"])
    params = {
        "methods": methods, "k": s["k"], "k_max": int(s["k_max"]), "n_shuffles": int(s["n_shuffles"]),
        "shuffle": s["shuffle"], "proxies": list(s["proxies"]), "n_random": int(s["n_random"]),
        "random_pool": s["random_pool"], "seed": derive_seed(cell_key(cell), cell.phase, ANALYSIS),
        "network": f"{cell_key(cell)}/{cell.phase}",
        # settings of the methods run only (adding a setting of a method not run changes nothing)
        "method_settings": {m: v for m, v in s["method_settings"].items() if m in methods and v},
    }
    if "visualization" in params["proxies"]:
        params["visualization"] = {key: value for key, value in s["visualization"].items() if value is not None}
    if set_arch(config, cell.network) != "mlp":
        params.update(kernel_norm=s["kernel_norm"], fold_batchnorm=bool(s["fold_batchnorm"]))
    return params


def partition_methods_rows(results: str, entry: str, condition: str, seed, phase: str) -> str:
    """One network's comparison table."""
    return f"{ArtifactPaths(results).root}/{ANALYSIS}/{entry}/{condition}/{seed_dir(seed)}/{phase}.parquet"


def partition_methods_row_targets(config: dict, results: str) -> list[str]:
    return [partition_methods_rows(results, c.entry, c.condition, c.seed, c.phase) for c in analysis_cells(config, ANALYSIS)]


def partition_methods_outputs(results: str) -> dict[str, str]:
    """The comparison's table (every network and method), its figure and its conclusion."""
    root = ArtifactPaths(results).root
    return {"table": ArtifactPaths(results).table(ANALYSIS),
            "figure": f"{root}/{ANALYSIS}/quality_vs_specialisation.png",
            "conclusion": f"{root}/{ANALYSIS}/conclusion.md"}


def partition_methods_targets(config: dict, results: str, cells: list[AnalysisCell]) -> list[str]:
    """The comparison's outputs, when some partition_methods cell (of ``cells``, the ones that can run) exists."""
    return list(partition_methods_outputs(results).values()) if cells else []
