# Shared helpers: the networks and analysis cells of this config, what a job's
# wildcards name, the targets of `rule all`, and the input functions and output
# lists of the rules, in one section per .smk file. Only functions here (the rules
# are in the other .smk files, one per noun); the logic itself is in the
# nnstructure.workflow package and nnstructure.paths.

import sys


_NOTED = set()


def note(message):
    """Tell the user something about the DAG being built, once (skipped entries are met more than once)."""
    if message not in _NOTED:
        _NOTED.add(message)
        print(f"nnstructure: {message}", file=sys.stderr)


def canonical_params_of_rules(rules):
    """Pass each rule's params (values and functions) through wc.canonical_params."""
    for each in rules:
        params = each.params  # a Snakemake Namedlist: items, and an attribute per named item
        names = {index: name for name, (index, _) in params._get_names()}
        for index, value in enumerate(params):
            canonical = wc.canonical_param_function(value) if callable(value) else wc.canonical_params(value)
            params[index] = canonical
            if index in names:
                setattr(params, names[index], canonical)


# Resolved once per DAG build (a skipped network or entry is reported once).
NETWORKS = {name: wc.available_networks(config, name, report=note) for name in wc.enabled_network_sets(config)}
CLUSTERABILITY_CELLS = list(wc.analysis_cells(config, "clusterability", report=note))
SPECIALIZATION_CELLS = list(wc.analysis_cells(config, "specialization", report=note))
PARTITION_METHODS_CELLS = list(wc.analysis_cells(config, "partition_methods", report=note))


def network_from(wildcards):
    """The network a network rule's job makes (its network_set, condition and seed wildcards)."""
    return wc.Network(wildcards.network_set, wildcards.condition, int(wildcards.seed))


def analysis_cell(analysis, wildcards):
    """The cell a job of ``analysis`` works on (its entry, condition, seed and phase wildcards)."""
    return wc.wildcard_cell(config, analysis, wildcards)


def network_files(network, phase):
    return PATHS.network(network.network_set, network.condition, network.seed, phase)


def cell_network(analysis, wildcards):
    """The checkpoint an analysis cell reads."""
    cell = analysis_cell(analysis, wildcards)
    return network_files(cell.network, cell.phase)


# ---- targets of `rule all` ----------------------------------------------------------------


def dataset_targets():
    out = []
    for name in wc.used_datasets(config):
        out += [PATHS.dataset(name), PATHS.dataset_preview(name)]
    return out


def network_targets():
    out = []
    for name, networks in NETWORKS.items():
        for net in networks:
            for phase in wc.network_phases(config, name):
                out.append(network_files(net, phase))
            if wc.network_kind(config, name) == "trained":
                out.append(PATHS.training_metrics(net.network_set, net.condition, net.seed))
    return out


def ch5_targets():
    return wc.ch5_targets(config, RESULTS, [net for networks in NETWORKS.values() for net in networks])


def report_targets():
    return [PATHS.report_file("scorecard.md")] if chapter_scorecards() else []


def all_targets():
    return (dataset_targets() + network_targets()
            + wc.clusterability_targets(config, RESULTS, CLUSTERABILITY_CELLS)
            + wc.specialization_targets(config, RESULTS, SPECIALIZATION_CELLS)
            + wc.partition_methods_targets(config, RESULTS, PARTITION_METHODS_CELLS)
            + ch5_targets() + report_targets())


# ---- networks.smk ---------------------------------------------------------------------


def network_dataset(wildcards):
    return PATHS.dataset(wc.set_dataset(config, wildcards.network_set))


def network_transitions(wildcards):
    """A reward or adversarial net's transition dataset (merged table and statistics)."""
    name = wc.set_dataset(config, wildcards.network_set)
    return {"transitions": PATHS.transitions_table(name, "transitions"), "summary": PATHS.transitions_table(name, "summary")}


# ---- transitions.smk ------------------------------------------------------------------


def transition_shard_files(wildcards):
    n = wc.merge_params(config, wildcards.transitions)["shards"]
    return [PATHS.transition_shard(wildcards.transitions, f"{i:05d}", suffix) for i in range(n) for suffix in ("npz", "parquet")]


# ---- clusterability.smk ---------------------------------------------------------------


def row_shuffles(wildcards):
    if wildcards.kind == "none":
        return {}
    return {"shuffles": PATHS.shuffles(wildcards.entry, wildcards.condition, wildcards.seed, wildcards.phase,
                                       wildcards.k, wildcards.kind)}


def row_clustering(wildcards):
    cell = analysis_cell("clusterability", wildcards)
    settings = wc.clustering_settings(config, cell.entry)
    return {"k": wc.k_setting(wildcards.k), "n_init": settings["n_init"], "shuffle": wildcards.kind,
            **wc.graph_params(config, cell.entry, cell.network)}


# ---- specialization.smk ---------------------------------------------------------------


def specialization_inputs(wildcards):
    """A partition's or a proxy's inputs: the network phase and its dataset."""
    cell = analysis_cell("specialization", wildcards)
    return {"network": network_files(cell.network, cell.phase),
            "data": PATHS.dataset(wc.set_dataset(config, cell.network.network_set))}


def network_wide_partition(wildcards):
    """Layer-wise partitions take k per layer from the network-wide partition of the same graph and k."""
    graph, scope = wildcards.partitioning.split("-")
    if scope != "layer":
        return {}
    return {"network_labels": PATHS.partition(wildcards.entry, wildcards.condition, wildcards.seed, wildcards.phase,
                                              f"{graph}-network", wildcards.k)}


# ---- reward.smk -----------------------------------------------------------------------


def reward_cell_edits(wildcards):
    return PATHS.edits_dir(wc.set_dataset(config, analysis_cell("reward", wildcards).network.network_set))


def visualization_inputs(wildcards):
    inputs = {"network": cell_network("reward", wildcards)}
    dataset = wc.set_dataset(config, analysis_cell("reward", wildcards).network.network_set)
    if wildcards.mode == "from-dataset":
        inputs["transitions"] = PATHS.transitions_table(dataset, "transitions")
    elif wildcards.mode == "from-edits":
        inputs["edits"] = PATHS.edits_dir(dataset)
    return inputs


# ---- probes.smk -----------------------------------------------------------------------


def probe_inputs(wildcards):
    cell = analysis_cell("probes", wildcards)
    inputs = {"network": network_files(cell.network, cell.phase)}
    if wc.network_kind(config, cell.network.network_set) != "dots":
        inputs["transitions"] = PATHS.transitions_table(wc.set_dataset(config, cell.network.network_set), "transitions")
    return inputs


# ---- report.smk -----------------------------------------------------------------------


def clusterability_entries_with_tables():
    """Entries that get a thesis-style table (random-init ones get the random-init figure instead)."""
    entries = []
    for cell in CLUSTERABILITY_CELLS:
        if wc.network_kind(config, cell.network.network_set) != "random_init" and cell.entry not in entries:
            entries.append(cell.entry)
    return sorted(entries)


def clusterability_has_both_shuffle_kinds():
    """Whether some network gets layer and nonzero shuffles (thesis Figure 3.7 draws those networks)."""
    for cell in CLUSTERABILITY_CELLS:
        settings = wc.clustering_settings(config, cell.entry)
        if settings["n_shuffles"] > 0 and {"layer", "nonzero"} <= set(settings["shuffle"]):
            return True
    return False


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
    if clusterability_has_both_shuffle_kinds():
        out["fig_3_7"] = report(file("figures/fig_3_7.png"), caption="../report/fig_3_7.rst", category="Chapter 3")
    if clusterability_has_random_init():
        out["fig_random_init"] = report(
            file("figures/fig_random_init.png"), caption="../report/fig_random_init.rst", category="Chapter 3"
        )
        out["random_init_scorecard"] = file("scorecard_random_init.parquet")
    return out


def chapter_report_outputs(chapter, category):
    def file(name):
        return PATHS.report_file(name, chapter)

    caption = f"../report/{chapter}.rst"
    return {
        "tables": report(directory(file("tables")), patterns=["{name}.md"], caption=caption, category=category),
        "figures": report(directory(file("figures")), patterns=["{name}.png"], caption=caption, category=category),
        "scorecard": file("scorecard.parquet"),
        "scorecard_markdown": report(file("scorecard.md"), caption=caption, category=category),
    }


def chapter_scorecards():
    """The per-chapter scorecards the combined scorecard gathers."""
    cards = []
    if CLUSTERABILITY_CELLS:
        cards.append(PATHS.report_file("scorecard.parquet", "ch3"))
    if SPECIALIZATION_CELLS:
        cards.append(PATHS.report_file("scorecard.parquet", "ch4"))
    cards += ch5_targets()
    return cards


def index_presets():
    """The shipped presets' checksums (the index says which preset makes each thesis item)."""
    from nnstructure.report.index import preset_checksums

    return preset_checksums(workflow.basedir)
