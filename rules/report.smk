# Reporting: thesis-style tables, figures, the reproduction scorecard, and (with
# `snakemake --report`) an HTML report.


rule report_tables:
    input:
        rows=rules.aggregate_clusterability.output.rows,
        shuffles=rules.aggregate_clusterability.output.shuffles,
    output:
        **report_outputs(),
    params:
        note=wc.settings_note(config),
    log:
        PATHS.log("report_tables", "all"),
    benchmark:
        PATHS.benchmark("report_tables", "all")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../workflow_scripts/report_tables.py"
