"""Which partition method finds the structure that matters? (issue 21; thesis section 6's first next step)

The thesis asks to "try different algorithms to see which one was best at
finding the relevant structure ... tested both against metrics of cluster
quality as well as metrics of functional specialization". For one network,
:func:`compare_partition_methods` partitions its weight graph (chapter 3's
graph; chapter 4's weight/network partitioning) by every method of
:mod:`nnstructure.cluster.methods` and measures each partition twice:

* quality: its n-cut and modularity against the same method run on
  ``n_shuffles`` shuffled copies of the graph (like with like: the shuffles of
  :func:`nnstructure.cluster.relative.shuffled_adjacency`, each partitioned by
  the same method with the same settings; spectral clustering keeps the
  network's k). The n-cut's p-value is the thesis's left one-sided
  ``(#{shuffled <= observed} + 1) / (n + 1)``; modularity's is the right one
  (higher is more modular); both with z-scores
  (:func:`nnstructure.cluster.relative.relative_clusterability_stats`);
* specialisation: chapter 4's lesions (importance: accuracy drop) and feature
  visualisations (coherence: visualisation score) of every subcluster against
  ``n_random`` random subclusters of the same sizes in the same layer
  (:func:`nnstructure.specialization.evaluate.evaluate_partition`), summarised
  per network by the Fisher statistic of the percentiles and its p-value
  (:func:`nnstructure.specialization.statistics.specialization_statistics`);
  under the null the statistic is ``null_fisher`` (0.98 for 19 randoms), and
  higher is more specialised;
* cost: the CPU seconds of the partition of the network's graph (one thread).

Each row also has the data-driven k of :mod:`nnstructure.cluster.choose_k`
(eigengap, modularity-optimal) beside the fixed k. :func:`summarise_partition_methods`
joins the networks' rows into one table, draws quality against specialisation
(one point per method and network) and writes the conclusion computed from the
numbers.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from nnstructure.cluster.methods import METHODS, check_method, method_settings
from nnstructure.cluster.relative import method_clusterability  # noqa: F401  (re-exported: the comparison's quality half)
from nnstructure.step_settings import as_int, step_settings

#: ``compare_partition_methods``'s settings. ``method_settings`` maps a method to its own settings
#: (:data:`nnstructure.cluster.methods.METHOD_DEFAULTS`); ``k`` is the fixed-k methods' k or ``"auto"``.
COMPARISON_DEFAULTS: dict[str, Any] = {
    "methods": list(METHODS), "k": 16, "k_max": 32, "method_settings": {}, "n_shuffles": 10, "shuffle": "layer",
    "proxies": ["lesion", "visualization"], "n_random": 19, "random_pool": "all", "visualization": None,
    "kernel_norm": "l1", "fold_batchnorm": True, "seed": 0, "network": None,
}
#: The chapter-4 metric each proxy is summarised by: importance (lesions) and coherence (visualisation).
PROXY_METRICS = {"lesion": ("importance", "accuracy_drop"), "visualization": ("coherence", "vis_score")}


# ---------------------------------------------------------------------------------------------
# Quality: one method on a graph and on its shuffles


# ---------------------------------------------------------------------------------------------
# Specialisation: chapter 4 on one method's partition


def method_specialization(model, graph, labels, dataset, proxies: Sequence[str] = ("lesion", "visualization"),
                          n_random: int = 19, seed: int = 0, random_pool: str = "all", visualization=None,
                          identity: Mapping[str, Any] | None = None, device=None) -> tuple[dict, pd.DataFrame]:
    """Chapter 4's importance and coherence of the partition ``labels`` of ``model``'s weight ``graph``.

    Returns ``(summary, per-network statistics)``: the summary has, per proxy, the Fisher statistic
    (``importance_fisher`` / ``coherence_fisher``), its p-value, the effect measure and the number of
    subclusters, plus ``null_fisher`` and ``specialization_seconds`` (CPU time of the lesions and
    visualisations). A partition with fewer than two clusters, or no subcluster of two units or more in a
    hidden layer, has no subclusters to test: its statistics are ``nan``.
    """
    from nnstructure.specialization.evaluate import evaluate_partition
    from nnstructure.specialization.partition import partition_network
    from nnstructure.specialization.statistics import specialization_statistics
    from nnstructure.specialization.steps import visualization_settings
    from nnstructure.stats.fisher import null_fisher_statistic

    nan = float("nan")
    summary: dict[str, Any] = {"null_fisher": null_fisher_statistic(int(n_random))}
    for proxy in proxies:
        name, _ = PROXY_METRICS[proxy]
        summary.update({f"{name}_fisher": nan, f"{name}_p_value": nan, f"{name}_effect": nan, f"{name}_subclusters": 0})
    n_clusters = int(np.unique(labels[labels >= 0]).size)
    start = time.process_time()
    if n_clusters < 2:
        summary["specialization_seconds"] = 0.0
        return summary, pd.DataFrame()
    part = partition_network(model, "weight-network", n_clusters, seed=seed, graph=graph, network_labels=labels)
    identity = {**dict(identity or {}), "partitioning": "weight-network", "k": n_clusters}
    frames = []
    for proxy in proxies:
        vis = visualization_settings(visualization) if proxy == "visualization" else None
        max_batch = as_int((visualization or {}).get("max_batch")) if proxy == "visualization" else None
        frame, _ = evaluate_partition(model, part.frame(), proxy, dataset, n_random=int(n_random), seed=seed,
                                      random_pool=random_pool, vis_settings=vis, identity=identity, device=device,
                                      vis_max_batch=max_batch, progress=True)
        frames.append(frame)
    results = pd.concat(frames, ignore_index=True)
    summary["specialization_seconds"] = time.process_time() - start
    if results.empty or not results["is_true"].any():
        return summary, pd.DataFrame()
    _, per_network, _ = specialization_statistics(results)
    for proxy in proxies:
        name, metric = PROXY_METRICS[proxy]
        row = per_network[per_network["metric"] == metric]
        if len(row):
            row = row.iloc[0]
            summary.update({f"{name}_fisher": float(row["fisher"]), f"{name}_p_value": float(row["p_value"]),
                            f"{name}_effect": float(row["effect"]), f"{name}_subclusters": int(row["n_subclusters"])})
    return summary, per_network


# ---------------------------------------------------------------------------------------------
# The workflow's steps


def comparison_settings(settings: Mapping[str, Any] | None) -> dict:
    """The settings of :func:`compare_partition_methods` over :data:`COMPARISON_DEFAULTS`, checked."""
    from nnstructure.specialization.choices import PROXIES, RANDOM_POOLS

    s = step_settings("partition_methods", settings, COMPARISON_DEFAULTS)
    methods = list(s["methods"])
    if not methods:
        raise ValueError(f"partition_methods: methods must name at least one of {', '.join(METHODS)}")
    for method in methods:
        check_method(method)
    extra = sorted(set(s["method_settings"] or {}) - set(METHODS))
    if extra:
        raise ValueError(f"partition_methods: method_settings names unknown method(s) {', '.join(extra)}; "
                         f"the methods are {', '.join(METHODS)}")
    for method, given in (s["method_settings"] or {}).items():
        method_settings(method, given)  # a setting the method does not take is named here
    bad = [p for p in s["proxies"] if p not in PROXIES]
    if bad:
        raise ValueError(f"partition_methods: proxies must be some of {', '.join(PROXIES)}, got {bad}")
    if s["random_pool"] not in RANDOM_POOLS:
        raise ValueError(f"partition_methods: random_pool must be one of {', '.join(RANDOM_POOLS)}, got {s['random_pool']!r}")
    if s["k"] != "auto":
        s["k"] = as_int(s["k"])
    s.update(methods=methods, k_max=as_int(s["k_max"]), n_shuffles=as_int(s["n_shuffles"]),
             n_random=as_int(s["n_random"]), seed=as_int(s["seed"]), proxies=list(s["proxies"]))
    return s


def compare_partition_methods(checkpoint, dataset, out, settings: Mapping[str, Any] | None = None, *, data_dir=None,
                              allow_pickle: bool = False, device: str | None = None) -> pd.DataFrame:
    """Every method of ``settings["methods"]`` on one network: the table ``out`` (Parquet; one row per method).

    ``checkpoint`` is any network the chapter-4 commands read, ``dataset`` its dataset artifact (or
    ``data_dir`` the real data); see the module docstring for what each row measures.
    """
    from nnstructure.cluster.choose_k import k_choices
    from nnstructure.graph.subgraph import drop_isolated_nodes
    from nnstructure.graph.weights import weight_graph
    from nnstructure.io import write_parquet
    from nnstructure.specialization.steps import load_network, network_dataset, network_label

    s = comparison_settings(settings)
    ck = load_network(checkpoint, allow_pickle)
    ds = network_dataset(ck, dataset, data_dir)
    graph = weight_graph(ck.model, kernel_norm=s["kernel_norm"], fold_batchnorm=bool(s["fold_batchnorm"]))
    fixed_k = None if s["k"] == "auto" else s["k"]
    choices = k_choices(drop_isolated_nodes(graph)[0].adjacency, fixed_k, s["k_max"], s["seed"])
    meta = ck.metadata
    network = s["network"] or str(checkpoint)
    identity = {"network": network, "network_label": network_label(meta), "arch": (meta.get("spec") or {}).get("arch", ""),
                "dataset": meta.get("dataset", ""), "checkpoint": str(checkpoint)}
    rows = []
    for method in s["methods"]:
        given = (s["method_settings"] or {}).get(method)
        quality = method_clusterability(graph, method, s["k"], s["n_shuffles"], s["shuffle"], s["seed"], given, s["k_max"])
        spec, _ = method_specialization(
            ck.model, graph, quality.pop("labels"), ds, s["proxies"], s["n_random"], s["seed"], s["random_pool"],
            s["visualization"], identity={"condition": f"{network}:{method}", "replicate": str(s["seed"])}, device=device,
        )
        rows.append({**identity, **choices, "k_setting": str(s["k"]), **quality,
                     "settings": json.dumps(method_settings(method, given), sort_keys=True), **spec,
                     "n_random": s["n_random"], "random_pool": s["random_pool"], "seed": s["seed"],
                     "proxies": ",".join(s["proxies"])})
        print(f"{network} {method}: {quality['n_clusters']} clusters, n-cut {quality['ncut']:.3f} "
              f"(p {quality['ncut_p_value']:.3f}), modularity {quality['modularity']:.3f}, "
              f"importance {spec.get('importance_fisher', float('nan')):.3f}, "
              f"coherence {spec.get('coherence_fisher', float('nan')):.3f}, {quality['seconds']:.2f} s", file=sys.stderr)
    table = pd.DataFrame(rows)
    table["k"] = table["k"].astype("Int64")
    write_parquet(table, out)
    return table


def specialisation_score(table: pd.DataFrame) -> pd.Series:
    """Per row: the mean of the Fisher statistics measured (importance, coherence); higher is more specialised."""
    cols = [c for c in ("importance_fisher", "coherence_fisher") if c in table]
    return table[cols].mean(axis=1, skipna=True) if cols else pd.Series(np.nan, index=table.index)


def method_conclusion(table: pd.DataFrame) -> str:
    """One paragraph from the numbers: the method with the most specialised clusters (mean Fisher statistic over
    networks and proxies; methods within 1e-9 of it tie), its margin over the next, and whether it also has the
    best n-cut against its own shuffles (lowest mean z-score), and the lowest raw n-cut among partitions of two
    clusters or more."""
    by = table.assign(specialisation=specialisation_score(table)).groupby("method", sort=False)
    means = by[["specialisation", "ncut_z", "ncut", "modularity_z", "n_clusters"]].mean()
    networks = table["network"].nunique()
    spec = means["specialisation"].dropna().sort_values(ascending=False, kind="stable")
    if spec.empty:
        return (f"No method's partition had subclusters to test on these {networks} network(s), so none can be "
                "called the most specialised.")
    top = spec.iloc[0]
    winners = [m for m in spec.index if abs(spec.loc[m] - top) <= 1e-9]
    rest = spec.drop(winners)
    null = float(table["null_fisher"].iloc[0])
    names = " and ".join(winners)
    text = (f"On {networks} network(s), {names} {'find' if len(winners) > 1 else 'finds'} the most specialised "
            f"clusters (mean Fisher statistic {top:.3f} over importance and coherence; {null:.2f} under the null)"
            + (f", ahead of {rest.index[0]} ({rest.iloc[0]:.3f}) by {top - rest.iloc[0]:.3f}." if len(rest) else "."))
    z = means["ncut_z"].dropna()
    if not z.empty:
        best_z = z.idxmin()
        if best_z in winners:
            text += f" {best_z} also has the lowest n-cut against its own shuffles (mean z {z.loc[best_z]:.2f})."
        else:
            own = ", ".join(f"{m}'s {z.loc[m]:.2f}" for m in winners if m in z)
            text += (f" The lowest n-cut against its own shuffles is {best_z}'s (mean z {z.loc[best_z]:.2f}"
                     + (f"; {own}" if own else "") + "), so the best n-cut does not pick the most specialised clusters.")
    untested = [m for m in means.index if m not in spec.index]
    if untested:
        text += (f" {' and '.join(untested)} split no hidden layer into two subclusters or more (every layer inside "
                 "one cluster), so chapter 4 has nothing to test there.")
    split = means[means["n_clusters"] >= 2]
    if not split.empty:
        lowest = split["ncut"].idxmin()
        text += (f" The lowest raw n-cut is {lowest}'s ({split['ncut'].loc[lowest]:.3f} with "
                 f"{split['n_clusters'].loc[lowest]:.0f} clusters on average; raw n-cuts grow with the number of clusters).")
    return text


def summarise_partition_methods(rows: Sequence, table_out, figure_out, conclusion_out) -> pd.DataFrame:
    """Join the per-network tables ``rows`` into ``table_out`` (Parquet), draw quality against specialisation
    into ``figure_out`` (PNG) and write the conclusion (Markdown) to ``conclusion_out``."""
    from nnstructure.io import read_parquet, write_parquet, write_text

    if not rows:
        raise ValueError("partition_methods: no per-network tables to summarise; add networks to the partition_methods section")
    table = pd.concat([read_parquet(path) for path in rows], ignore_index=True)
    table["specialisation"] = specialisation_score(table)
    conclusion = method_conclusion(table)
    table["conclusion"] = conclusion
    write_parquet(table, table_out)
    plot_quality_vs_specialisation(table, figure_out)
    lines = ["# Partition methods: cluster quality against functional specialisation", "", conclusion, "",
             _markdown_table(table), "", k_choice_line(table), ""]
    write_text("\n".join(lines), Path(conclusion_out))
    print(conclusion, file=sys.stderr)
    return table


def k_choice_line(table: pd.DataFrame) -> str:
    """The data-driven k of the networks beside the fixed k (the thesis's: 12 in chapter 3, 16 in chapter 4)."""
    per_network = table.drop_duplicates("network")
    gap = ", ".join(str(int(v)) for v in per_network["k_eigengap"])
    mod = ", ".join(str(int(v)) for v in per_network["k_modularity"])
    fixed = per_network["k_fixed"].dropna().unique()
    fixed_text = f"k = {int(fixed[0])} here" if len(fixed) == 1 else "k: auto here"
    return (f"Choosing k: the eigengap heuristic gives k = {gap} and the modularity-optimal partition has {mod} "
            f"communities on the {len(per_network)} network(s), in the order of the table; the thesis fixes k = 12 "
            f"(chapter 3) and 16 (chapter 4), {fixed_text}.")


def _markdown_table(table: pd.DataFrame) -> str:
    cols = {"network": "network", "method": "method", "n_clusters": "clusters", "ncut": "n-cut",
            "ncut_p_value": "n-cut p", "ncut_z": "n-cut z", "modularity": "modularity", "modularity_z": "modularity z",
            "importance_fisher": "importance F", "coherence_fisher": "coherence F", "seconds": "CPU s",
            "k_eigengap": "k eigengap", "k_modularity": "k modularity"}
    shown = table[[c for c in cols if c in table]].rename(columns=cols)
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |"
            for row in shown.itertuples(index=False)]
    return "\n".join([header, *body])


def plot_quality_vs_specialisation(table: pd.DataFrame, out) -> None:
    """Per proxy measured, a panel of its Fisher statistic (specialisation) against the n-cut's z-score against
    shuffles (quality: lower is more clusterable), one point per method and network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnstructure.io import atomic_path

    panels = [(name, f"{name}_fisher") for name, _ in PROXY_METRICS.values() if f"{name}_fisher" in table]
    x_col = "ncut_z" if table["ncut_z"].notna().any() else "ncut"
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.2 * max(1, len(panels)), 4.2), squeeze=False)
    # one style per method, unfilled and of decreasing size, so methods that found the same partition stay visible
    colours = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    styles = {m: (marker, 140 - 30 * i) for i, (m, marker) in enumerate(zip(METHODS, "osD^"))}
    for ax, (name, col) in zip(axes[0], panels or [("specialisation", "specialisation")]):
        for method, group in table.groupby("method", sort=False):
            marker, size = styles.get(method, ("o", 50))
            ax.scatter(group[x_col], group[col], facecolors="none", edgecolors=colours.get(method), marker=marker,
                       s=size, linewidths=1.5, label=f"{method} ({group['network'].nunique()} network(s))")
        ax.axhline(float(table["null_fisher"].iloc[0]), color="grey", lw=0.8, ls="--", label="null Fisher statistic")
        ax.set_xlabel("n-cut z-score against the method's own shuffles" if x_col == "ncut_z" else "n-cut")
        ax.set_ylabel(f"{name} (Fisher statistic; higher = more specialised)")
        ax.set_title(f"{name.capitalize()} against cluster quality")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
