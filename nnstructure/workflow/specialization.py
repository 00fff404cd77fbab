"""Chapter 4 (importance and coherence): an entry's settings, the params of its jobs and its targets."""

from __future__ import annotations

from nnstructure.paths import ArtifactPaths
from nnstructure.seeding import derive_seed
from nnstructure.stats.effect import EFFECT_DEFINITIONS
from nnstructure.workflow.config import (
    ENTRY_SETTINGS,
    AnalysisCell,
    analysis_cells,
    as_list,
    cell_key,
    entry_settings,
    set_arch,
)

#: Chapter-4 settings an analysis entry may override (the rest are section-wide: ties, alpha, BH family).
SPECIALIZATION_KEYS = ENTRY_SETTINGS["specialization"]


def specialization_settings(config: dict, entry: str) -> dict:
    """The chapter-4 settings of an entry (:func:`entry_settings`); ``k`` as a list."""
    settings = entry_settings(config, "specialization", entry)
    return {**settings, "visualization": dict(settings.get("visualization") or {}),
            "k": [int(k) for k in as_list(settings["k"])]}


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
    if s["method"] != "spectral":  # only then: a spectral partition's params (and so its jobs) stay as they were
        params.update(method=s["method"], method_settings=dict((s.get("method_settings") or {}).get(s["method"]) or {}))
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
    """The statistics' settings; ``effect_definition`` only where it is not the default (``thesis-text``), so the
    statistics of a config without it keep their params (and are not rerun)."""
    s = config.get("specialization") or {}
    params = {"ties": s["ties"], "alpha": float(s["alpha"]), "family_class_range": s["family_class_range"]}
    definition = s.get("effect_definition") or EFFECT_DEFINITIONS[0]
    if definition != EFFECT_DEFINITIONS[0]:
        params["effect_definition"] = definition
    return params


def specialization_targets(config: dict, results: str, cells: list[AnalysisCell]) -> list[str]:
    """Chapter 4's table and scorecard, when some specialization cell (of ``cells``, the ones that can run) exists."""
    if not cells:
        return []
    paths = ArtifactPaths(results)
    return [paths.table("specialization"), paths.report_file("scorecard.parquet", "ch4")]
