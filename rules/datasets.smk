# Datasets: one cached artifact (+ a preview grid) per dataset a network set uses.
# Params are the sizes, the seed and the checksums of the real files it is built
# from; the data directory is only where those files are looked for.


rule dataset:
    output:
        data=PATHS.dataset("{dataset}"),
        preview=report(
            PATHS.dataset_preview("{dataset}"),
            caption="../report/dataset.rst",
            category="Datasets",
            labels={"dataset": "{dataset}"},
        ),
    params:
        dataset=lambda w: wc.dataset_params(config, w.dataset),
    log:
        PATHS.log("dataset", "{dataset}"),
    benchmark:
        PATHS.benchmark("dataset", "{dataset}")
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow_scripts/dataset.py"
