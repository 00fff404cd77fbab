"""The partition-methods comparison (issue 21): an entry's settings, the params of its jobs and its targets."""

from __future__ import annotations

from nnstructure.paths import ArtifactPaths, seed_dir
from nnstructure.seeding import derive_seed
from nnstructure.workflow.config import (
    ENTRY_SETTINGS,
    AnalysisCell,
    WorkflowConfigError,
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


def partition_methods_params(config: dict, cell: AnalysisCell, method: str) -> dict:
    """What one method's comparison on one network depends on: the settings of
    :func:`nnstructure.cluster.method_comparison.compare_partition_methods` with that method alone (graph settings
    only where they apply). Each method is its own job, so adding a method, or changing one method's settings,
    reruns that method's job only; the seed is the network's, so every method meets the same shuffles."""
    s = partition_methods_settings(config, cell.entry)
    if method not in s["methods"]:
        raise WorkflowConfigError(f"partition_methods: method {method!r} is not in partition_methods.methods of entry "
                                  f"{cell.entry!r} ({', '.join(s['methods'])})")
    params = {
        "methods": [method], "k": s["k"], "k_max": int(s["k_max"]), "n_shuffles": int(s["n_shuffles"]),
        "shuffle": s["shuffle"], "proxies": list(s["proxies"]), "n_random": int(s["n_random"]),
        "random_pool": s["random_pool"], "seed": derive_seed(cell_key(cell), cell.phase, ANALYSIS),
        "network": f"{cell_key(cell)}/{cell.phase}",
        # the method's own settings only, and only when given (an empty entry changes nothing)
        "method_settings": {m: v for m, v in s["method_settings"].items() if m == method and v},
    }
    if "visualization" in params["proxies"]:
        params["visualization"] = {key: value for key, value in s["visualization"].items() if value is not None}
    if set_arch(config, cell.network) != "mlp":
        params.update(kernel_norm=s["kernel_norm"], fold_batchnorm=bool(s["fold_batchnorm"]))
    return params


def partition_methods_rows(results: str, entry: str, condition: str, seed, phase: str, method: str) -> str:
    """One method's comparison table on one network (one row)."""
    return f"{ArtifactPaths(results).root}/{ANALYSIS}/{entry}/{condition}/{seed_dir(seed)}/{phase}/{method}.parquet"


def partition_methods_row_targets(config: dict, results: str) -> list[str]:
    """Every network's row of every method, network by network in the section's method order."""
    return [partition_methods_rows(results, c.entry, c.condition, c.seed, c.phase, method)
            for c in analysis_cells(config, ANALYSIS)
            for method in partition_methods_settings(config, c.entry)["methods"]]


def partition_methods_outputs(results: str) -> dict[str, str]:
    """The comparison's table (every network and method), its figure and its conclusion."""
    root = ArtifactPaths(results).root
    return {"table": ArtifactPaths(results).table(ANALYSIS),
            "figure": f"{root}/{ANALYSIS}/quality_vs_specialisation.png",
            "conclusion": f"{root}/{ANALYSIS}/conclusion.md"}


def partition_methods_targets(config: dict, results: str, cells: list[AnalysisCell]) -> list[str]:
    """The comparison's outputs, when some partition_methods cell (of ``cells``, the ones that can run) exists."""
    return list(partition_methods_outputs(results).values()) if cells else []
