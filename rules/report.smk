# Reporting: per chapter, thesis-style tables, figures and a scorecard (the report
# engine, nnstructure.report.engine, with one module per chapter); then one
# scorecard of every chapter beside the thesis and the index of the thesis's
# tables and figures (where this run has each one, or why not:
# nnstructure.report.index); `snakemake --report` gathers all of it into an HTML report.
# Every thesis table and figure a run makes has its own file named as in the thesis
# (report/<chapter>/tables/table_3_4.md, figures/fig_c_14.png). Figures C.14-C.21 need
# two steps of their own first: the appendix's further edits of Table 5.2's transitions
# (appendix_edits) and each reward net's predictions on them (predict_appendix_edits).

from nnstructure.report.ch3_items import config_dataset_figures as ch3_dataset_figures
from nnstructure.report.ch3_items import item_outputs as ch3_item_outputs
from nnstructure.reward.appendix_edits import FOLDER_SUFFIX as APPENDIX_EDITS


rule appendix_edits:
    input:
        transitions=PATHS.transitions_table("{transitions}", "transitions"),
        edits=PATHS.edits_dir("{transitions}"),
    output:
        # Figures C.14-C.21's edits of Table 5.2's transitions, in the edit step's format
        edits=directory(PATHS.transitions_dir("{transitions}") + APPENDIX_EDITS),
    log:
        PATHS.log("appendix_edits", "{transitions}"),
    benchmark:
        PATHS.benchmark("appendix_edits", "{transitions}")
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_appendix_edits.py"


rule predict_appendix_edits:
    input:
        network=lambda w: cell_network("reward", w),
        edits=lambda w: PATHS.transitions_dir(wc.set_dataset(config, analysis_cell("reward", w).network.network_set))
        + APPENDIX_EDITS,
    output:
        table=PATHS.reward_test("{entry}", "{condition}", "{seed}", "{phase}", "edits", "appendix-c"),
    params:
        # the dataset the edits come from (the network is named by its wildcards: no display label, which
        # changes when a seed is added, is a param of a per-network job)
        transitions=lambda w: wc.set_dataset(config, analysis_cell("reward", w).network.network_set),
    log:
        PATHS.log("predict_appendix_edits", "{entry}", "{condition}", "seed{seed}", "{phase}"),
    benchmark:
        PATHS.benchmark("predict_appendix_edits", "{entry}", "{condition}", "seed{seed}", "{phase}")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_appendix_predictions.py"


rule report_ch3:
    input:
        rows=rules.aggregate_clusterability.output.rows,
        shuffles=rules.aggregate_clusterability.output.shuffles,
        # Figures 3.4 and 3.14: samples of the 'halves' and 'stack' datasets the networks learnt from
        datasets=[PATHS.dataset(name) for names in ch3_dataset_figures(config, CLUSTERABILITY_CELLS).values()
                  for name in names],
    output:
        **ch3_report_outputs(),
        # one file per thesis table and figure, named as in the thesis (table_a_1.md, fig_3_2.png)
        **{key: report(PATHS.report_file(name, "ch3"), caption=f"../report/{caption}.rst", category="Chapter 3",
                       labels={"thesis item": item})
           for key, (name, item, caption) in ch3_item_outputs(config, CLUSTERABILITY_CELLS, shown=True).items()},
        **{key: PATHS.report_file(name, "ch3")
           for key, (name, _, _) in ch3_item_outputs(config, CLUSTERABILITY_CELLS, shown=False).items()},
    params:
        note=wc.settings_note(config),
        preset=config["preset"],
    log:
        PATHS.log("report_ch3", "all"),
    benchmark:
        PATHS.benchmark("report_ch3", "all")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../workflow_scripts/report_ch3.py"


rule report_ch4:
    input:
        # named as the chapter-4 report module's inputs (lists are concatenated)
        specialization=rules.specialization_stats.output.stats,
        specialization_percentiles=rules.specialization_stats.output.percentiles,
        specialization_images=lambda w: wc.specialization_image_targets(config, RESULTS),
    output:
        **chapter_report_outputs("ch4", "Chapter 4"),
    params:
        chapter="ch4",
    log:
        PATHS.log("report_ch4", "all"),
    benchmark:
        PATHS.benchmark("report_ch4", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_chapter.py"


rule report_ch5:
    input:
        **{name: PATHS.table(name) for name in wc.CH5_REPORT_INPUTS["ch5"]},
        # Figures 5.1, 5.2 (from the datasets' shards) and the edited transitions' figures under their thesis names
        transition_paths=[PATHS.transitions_table(name, "transitions") for name in wc.used_transition_datasets(config)],
        edits_paths=[PATHS.edits_dir(name) for name in wc.edited_transition_datasets(config)],
        # Figures C.14-C.21: the edits and every reward net's predictions on its dataset's edits
        appendix_edits_paths=[PATHS.transitions_dir(name) + APPENDIX_EDITS
                              for name in wc.edited_transition_datasets(config)],
        appendix_predictions=[PATHS.reward_test(cell.entry, cell.network.condition, cell.network.seed, cell.phase,
                                                "edits", "appendix-c") for cell in wc.analysis_cells(config, "reward")
                              if wc.has_edits(config, wc.set_dataset(config, cell.network.network_set))],
    output:
        **chapter_report_outputs("ch5", "Chapter 5"),
    params:
        chapter="ch5",
    log:
        PATHS.log("report_ch5", "all"),
    benchmark:
        PATHS.benchmark("report_ch5", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_chapter.py"


rule report_ch5_part2:
    input:
        **{name: PATHS.table(name) for name in wc.CH5_REPORT_INPUTS["ch5_part2"]},
    output:
        **chapter_report_outputs("ch5_part2", "Chapter 5 (probes, adversarial training, dots)"),
    params:
        chapter="ch5_part2",
    log:
        PATHS.log("report_ch5_part2", "all"),
    benchmark:
        PATHS.benchmark("report_ch5_part2", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_chapter.py"


rule scorecard:
    input:
        # the chapter reports: every file the index points to is one of theirs
        cards=chapter_scorecards(),
    output:
        markdown=report(PATHS.report_file("scorecard.md"), caption="../report/scorecard.rst", category="Scorecard"),
        table=PATHS.report_file("scorecard.parquet"),
        index=report(PATHS.report_file("index.md"), caption="../report/index.rst", category="Index"),
    params:
        # what the index says each shipped preset makes: editing a preset (or the schema) reruns it
        presets=lambda w: index_presets(),
    log:
        PATHS.log("scorecard", "all"),
    benchmark:
        PATHS.benchmark("scorecard", "all")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    script:
        "../workflow_scripts/scorecard.py"
