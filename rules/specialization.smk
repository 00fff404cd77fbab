# Importance and coherence (thesis ch. 4): per network phase, partitionings
# {weights, activations} x {network-wide, layer-wise} at each k (one job each),
# then per partition and proxy (lesion, visualization rules) the true subclusters
# against random ones (one job each), then one statistics job (Fisher, Bates, BH, effects);
# the chapter's report is in report.smk.
# Networks are the ones the config's network sets make: a network chapter 3 trains
# is reused, never trained again.


rule partition:
    input:
        unpack(specialization_inputs),
        unpack(network_wide_partition),
    output:
        labels=PATHS.partition("{entry}", "{condition}", "{seed}", "{phase}", "{partitioning}", "{k}"),
    params:
        partition=lambda w: wc.partition_params(config, analysis_cell("specialization", w), w.partitioning, int(w.k)),
    log:
        PATHS.log("partition", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}"),
    benchmark:
        PATHS.benchmark("partition", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}")
    threads: 1
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/partition.py"


rule lesion:
    input:
        unpack(specialization_inputs),
        labels=rules.partition.output.labels,
    output:
        results=PATHS.proxy_results("{entry}", "{condition}", "{seed}", "{phase}", "{partitioning}", "{k}", "lesion"),
    params:
        proxy=lambda w: wc.proxy_params(config, analysis_cell("specialization", w), w.partitioning, int(w.k), "lesion"),
    log:
        PATHS.log("lesion", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}"),
    benchmark:
        PATHS.benchmark("lesion", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}")
    threads: 1
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/subcluster_proxy.py"


rule visualization:
    input:
        unpack(specialization_inputs),
        labels=rules.partition.output.labels,
    output:
        results=PATHS.proxy_results("{entry}", "{condition}", "{seed}", "{phase}", "{partitioning}", "{k}", "visualization"),
        images=PATHS.proxy_images("{entry}", "{condition}", "{seed}", "{phase}", "{partitioning}", "{k}"),
    params:
        proxy=lambda w: wc.proxy_params(config, analysis_cell("specialization", w), w.partitioning, int(w.k), "visualization"),
    log:
        PATHS.log("visualization", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}"),
    benchmark:
        PATHS.benchmark("visualization", "{entry}", "{condition}", "seed{seed}", "{phase}-{partitioning}-k{k}")
    threads: 1
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/subcluster_proxy.py"


rule specialization_stats:
    input:
        results=lambda w: wc.specialization_result_targets(config, RESULTS),
    output:
        stats=PATHS.table("specialization"),
        per_network=PATHS.table("specialization_per_network"),
        percentiles=PATHS.table("specialization_percentiles"),
    params:
        stats=lambda w: wc.specialization_stats_params(config),
    log:
        PATHS.log("specialization_stats", "all"),
    benchmark:
        PATHS.benchmark("specialization_stats", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/specialization_stats.py"
