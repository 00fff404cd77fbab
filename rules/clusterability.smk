# Clusterability (thesis ch. 3): network -> weighted graph -> spectral clustering
# -> n-cut, and the n-cut distribution of shuffled networks; one job per network
# phase (graph), per k (clustering), per k and shuffle kind (shuffles, row).
# Params carry only clustering settings (graph settings only where they apply),
# so no clustering edit retrains a network.
# clusterability.method (issue 21): entries partitioned by another method than
# spectral run cluster_by_method and shuffles_by_method (the same method on the
# network and on its shuffles); spectral entries run cluster and shuffles, whose
# params and scripts are as they were, so no spectral job reruns.

SPECTRAL_ENTRIES, METHOD_ENTRIES = (
    wc.one_of(entries) if entries else "(?!)"  # no entry: a constraint nothing matches
    for entries in wc.clusterability.method_entries(config)
)


rule graph:
    input:
        network=lambda w: cell_network("clusterability", w),
    output:
        graph=PATHS.graph("{entry}", "{condition}", "{seed}", "{phase}"),
    params:
        graph=lambda w: wc.graph_params(config, w.entry, analysis_cell("clusterability", w).network),
    log:
        PATHS.log("graph", "{entry}", "{condition}", "seed{seed}", "{phase}"),
    benchmark:
        PATHS.benchmark("graph", "{entry}", "{condition}", "seed{seed}", "{phase}")
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/graph.py"


rule cluster:
    input:
        graph=rules.graph.output.graph,
    wildcard_constraints:
        entry=SPECTRAL_ENTRIES,
    output:
        labels=PATHS.cluster_labels("{entry}", "{condition}", "{seed}", "{phase}", "{k}"),
    params:
        cluster=lambda w: wc.cluster_params(config, analysis_cell("clusterability", w), w.k),
    log:
        PATHS.log("cluster", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}"),
    benchmark:
        PATHS.benchmark("cluster", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}")
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/cluster.py"


rule shuffles:
    input:
        graph=rules.graph.output.graph,
    wildcard_constraints:
        entry=SPECTRAL_ENTRIES,
    output:
        shuffles=PATHS.shuffles("{entry}", "{condition}", "{seed}", "{phase}", "{k}", "{kind}"),
    params:
        shuffle=lambda w: wc.shuffle_params(config, analysis_cell("clusterability", w), w.k, w.kind),
    log:
        PATHS.log("shuffles", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}"),
    benchmark:
        PATHS.benchmark("shuffles", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}")
    threads: config["threads"]["shuffles"]
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/shuffles.py"


rule cluster_by_method:
    input:
        graph=rules.graph.output.graph,
    wildcard_constraints:
        entry=METHOD_ENTRIES,
    output:
        labels=PATHS.cluster_labels("{entry}", "{condition}", "{seed}", "{phase}", "{k}"),
    params:
        cluster=lambda w: wc.cluster_params(config, analysis_cell("clusterability", w), w.k),
    log:
        PATHS.log("cluster", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}"),
    benchmark:
        PATHS.benchmark("cluster", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}")
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/cluster_by_method.py"


rule shuffles_by_method:
    input:
        graph=rules.graph.output.graph,
    wildcard_constraints:
        entry=METHOD_ENTRIES,
    output:
        shuffles=PATHS.shuffles("{entry}", "{condition}", "{seed}", "{phase}", "{k}", "{kind}"),
    params:
        shuffle=lambda w: wc.shuffle_params(config, analysis_cell("clusterability", w), w.k, w.kind),
    log:
        PATHS.log("shuffles", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}"),
    benchmark:
        PATHS.benchmark("shuffles", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}")
    threads: config["threads"]["shuffles"]
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/shuffles_by_method.py"


rule clusterability_row:
    input:
        unpack(row_shuffles),
        graph=rules.graph.output.graph,
        labels=rules.cluster.output.labels,
    output:
        row=PATHS.clusterability_row("{entry}", "{condition}", "{seed}", "{phase}", "{k}", "{kind}"),
    params:
        labels=lambda w: wc.row_labels(config, analysis_cell("clusterability", w)),
        clustering=row_clustering,
    log:
        PATHS.log("clusterability_row", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}"),
    benchmark:
        PATHS.benchmark("clusterability_row", "{entry}", "{condition}", "seed{seed}", "{phase}-k{k}-{kind}")
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        ENV
    script:
        "../workflow_scripts/clusterability_row.py"


rule aggregate_clusterability:
    input:
        rows=lambda w: wc.row_targets(config, RESULTS),
        shuffles=lambda w: wc.shuffle_targets(config, RESULTS),
    output:
        rows=PATHS.table("clusterability"),
        shuffles=PATHS.table("shuffles"),
    params:
        # <results>/<preset>, where every row's shuffle table is looked up by the row's key
        results=lambda w, output: str(Path(output.rows).parent.parent),
    log:
        PATHS.log("aggregate_clusterability", "all"),
    benchmark:
        PATHS.benchmark("aggregate_clusterability", "all")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../workflow_scripts/aggregate_clusterability.py"
