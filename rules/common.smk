# Shared helpers: which networks and analysis cells exist, their targets, input
# functions and params. Functions only (the steps are in the other .smk files);
# the logic itself is in nnstructure.workflow_config and nnstructure.paths.

import sys


def note(message):
    print(f"nnstructure: {message}", file=sys.stderr)


def network_from(wildcards):
    return wc.Network(wildcards.network_set, wildcards.condition, int(wildcards.seed))


# Resolved once per DAG build (a skipped pretrained network is reported once).
NETWORKS = {name: wc.available_networks(config, name, report=note) for name in wc.enabled_network_sets(config)}
CLUSTERABILITY_CELLS = list(wc.analysis_cells(config, "clusterability"))


def dataset_targets():
    out = []
    for name in wc.used_datasets(config):
        out += [PATHS.dataset(name), PATHS.dataset_preview(name)]
    return out


def network_files(network, phase):
    path = PATHS.network(network.network_set, network.condition, network.seed, phase)
    return path


def network_targets():
    out = []
    for name, networks in NETWORKS.items():
        for net in networks:
            for phase in wc.network_phases(config, name):
                out.append(network_files(net, phase))
            if wc.network_kind(config, name) == "trained":
                out.append(PATHS.training_metrics(net.network_set, net.condition, net.seed))
    return out


def network_dataset(wildcards):
    return PATHS.dataset(wc.set_dataset(config, wildcards.network_set))


def cell_from(wildcards):
    network = wc.entry_network(config, "clusterability", wildcards.entry, wildcards.condition, wildcards.seed)
    return wc.AnalysisCell(wildcards.entry, network, wildcards.phase)


def analysis_network(wildcards):
    """The checkpoint an analysis cell reads."""
    cell = cell_from(wildcards)
    return network_files(cell.network, cell.phase)


def row_shuffles(wildcards):
    if wildcards.kind == "none":
        return {}
    return {"shuffles": PATHS.shuffles(wildcards.entry, wildcards.condition, wildcards.seed, wildcards.phase,
                                       wildcards.k, wildcards.kind)}


def row_clustering(wildcards):
    cell = cell_from(wildcards)
    settings = wc.clustering_settings(config, cell.entry)
    return {"k": int(wildcards.k), "n_init": settings["n_init"], "shuffle": wildcards.kind,
            **wc.graph_params(config, cell.entry, cell.network)}


def clusterability_entries_with_tables():
    """Entries that get a thesis-style table (random-init ones get the random-init figure instead)."""
    entries = []
    for cell in CLUSTERABILITY_CELLS:
        if wc.network_kind(config, cell.network.network_set) != "random_init" and cell.entry not in entries:
            entries.append(cell.entry)
    return sorted(entries)


def clusterability_has_shuffles():
    return any(wc.clustering_settings(config, c.entry)["n_shuffles"] > 0 for c in CLUSTERABILITY_CELLS)


def clusterability_has_random_init():
    return any(wc.network_kind(config, c.network.network_set) == "random_init" for c in CLUSTERABILITY_CELLS)


def ch3_report_outputs():
    def file(name):
        return PATHS.report_file(name, "ch3")

    out = {
        "table": report(file("tables/table_clusterability.md"), caption="../report/table.rst", category="Chapter 3"),
        "table_parquet": file("tables/table_clusterability.parquet"),
        "scorecard": report(file("scorecard.md"), caption="../report/scorecard.rst", category="Chapter 3"),
        "scorecard_parquet": file("scorecard.parquet"),
        "fig_ncut_vs_shuffles": report(
            file("figures/fig_ncut_vs_shuffles.png"), caption="../report/fig_ncut_vs_shuffles.rst", category="Chapter 3"
        ),
    }
    for name in clusterability_entries_with_tables():
        out[f"table_{name}"] = report(
            file(f"tables/{name}.md"), caption="../report/table.rst", category="Chapter 3", labels={"experiment": name}
        )
        out[f"table_{name}_parquet"] = file(f"tables/{name}.parquet")
    if clusterability_has_shuffles():
        out["fig_shuffle_distributions"] = report(
            file("figures/fig_shuffle_distributions.png"), caption="../report/fig_shuffle_distributions.rst", category="Chapter 3"
        )
    if clusterability_has_random_init():
        out["fig_random_init"] = report(
            file("figures/fig_random_init.png"), caption="../report/fig_random_init.rst", category="Chapter 3"
        )
        out["random_init_scorecard"] = file("scorecard_random_init.parquet")
    return out


def chapter_scorecards():
    """The per-chapter scorecards the combined scorecard gathers."""
    cards = []
    if CLUSTERABILITY_CELLS:
        cards.append(PATHS.report_file("scorecard.parquet", "ch3"))
    if SPECIALIZATION_CELLS:
        cards.append(PATHS.report_file("scorecard.parquet", "ch4"))
    return cards


def clusterability_targets():
    if not CLUSTERABILITY_CELLS:
        return []
    return [PATHS.table("clusterability"), PATHS.report_file("scorecard.md", "ch3")]


def report_targets():
    return [PATHS.report_file("scorecard.md")] if chapter_scorecards() else []


def all_targets():
    return dataset_targets() + network_targets() + clusterability_targets() + specialization_targets() + report_targets()


# ---- chapter 4 ------------------------------------------------------------------------------

SPECIALIZATION_CELLS = list(wc.analysis_cells(config, "specialization", report=note))


def specialization_cell(wildcards):
    network = wc.entry_network(config, "specialization", wildcards.entry, wildcards.condition, wildcards.seed)
    return wc.AnalysisCell(wildcards.entry, network, wildcards.phase)


def specialization_inputs(wildcards):
    """A partition's or a proxy's inputs: the network phase and its dataset."""
    cell = specialization_cell(wildcards)
    return {"network": network_files(cell.network, cell.phase),
            "data": PATHS.dataset(wc.set_dataset(config, cell.network.network_set))}


def network_wide_partition(wildcards):
    """Layer-wise partitions take k per layer from the network-wide partition of the same graph and k."""
    graph, scope = wildcards.partitioning.split("-")
    if scope != "layer":
        return {}
    return {"network_labels": PATHS.partition(wildcards.entry, wildcards.condition, wildcards.seed, wildcards.phase,
                                              f"{graph}-network", wildcards.k)}


def specialization_targets():
    if not SPECIALIZATION_CELLS:
        return []
    return [PATHS.table("specialization"), PATHS.report_file("scorecard.parquet", "ch4")]


def ch4_report_outputs():
    def file(name):
        return PATHS.report_file(name, "ch4")

    return {
        "tables": report(directory(file("tables")), patterns=["{name}.md"], caption="../report/ch4_tables.rst",
                         category="Chapter 4"),
        "figures": report(directory(file("figures")), patterns=["{name}.png"], caption="../report/ch4_figures.rst",
                          category="Chapter 4"),
        "scorecard": file("scorecard.parquet"),
    }
