# Aggregation and reporting: one Parquet table of every network's clusterability,
# thesis-style tables, figures, the reproduction scorecard, and (with
# `snakemake --report`) an HTML report.


def report_targets():
    return [
        f"{RESULTS}/tables/clusterability.parquet",
        f"{RESULTS}/report/scorecard.md",
    ]


rule aggregate:
    input:
        rows=lambda w: wc.row_targets(config, RESULTS),
        shuffles=lambda w: wc.shuffle_targets(config, RESULTS),
    output:
        rows=f"{RESULTS}/tables/clusterability.parquet",
        shuffles=f"{RESULTS}/tables/shuffles.parquet",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/aggregate.py"


rule report_tables:
    input:
        rows=rules.aggregate.output.rows,
        shuffles=rules.aggregate.output.shuffles,
    output:
        table=report(
            f"{RESULTS}/report/table_clusterability.md",
            caption="../report/table.rst",
            category="Tables",
        ),
        table_parquet=f"{RESULTS}/report/table_clusterability.parquet",
        scorecard=report(
            f"{RESULTS}/report/scorecard.md",
            caption="../report/scorecard.rst",
            category="Scorecard",
        ),
        scorecard_parquet=f"{RESULTS}/report/scorecard.parquet",
        ncut_vs_shuffles=report(
            f"{RESULTS}/report/fig_ncut_vs_shuffles.png",
            caption="../report/fig_ncut_vs_shuffles.rst",
            category="Figures",
        ),
        shuffle_distributions=report(
            f"{RESULTS}/report/fig_shuffle_distributions.png",
            caption="../report/fig_shuffle_distributions.rst",
            category="Figures",
        ),
        random_init=report(
            f"{RESULTS}/report/fig_random_init.png",
            caption="../report/fig_random_init.rst",
            category="Figures",
        ),
    params:
        preset=config["preset"],
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/report_tables.py"
