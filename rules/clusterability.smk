# Clusterability (thesis ch. 3): network -> weighted graph -> spectral clustering
# -> n-cut, and the n-cut distribution of shuffled networks. Params carry only
# the clustering settings, so changing k / shuffles never retrains a network.

CELL = "{experiment}/{condition}/seed{seed}"


rule graph:
    input:
        checkpoint=network_checkpoint,
    output:
        f"{RESULTS}/graphs/{CELL}/{{phase}}.npz",
    params:
        graph=lambda w: wc.graph_params(config, w.experiment),
        flags=lambda w: (
            f"--kernel-norm {wc.graph_params(config, w.experiment)['kernel_norm']}"
            + ("" if wc.graph_params(config, w.experiment)["fold_batchnorm"] else " --no-fold-batchnorm")
        ),
    log:
        f"{RESULTS}/logs/graph/{CELL}/{{phase}}.log",
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=10,
    shell:
        "{NNSTRUCTURE} graph {input.checkpoint:q} {params.flags} --out {output:q} 2> {log:q}"


rule cluster:
    input:
        graph=rules.graph.output[0],
    output:
        labels=f"{RESULTS}/clusters/{CELL}/{{phase}}-k{{k}}.parquet",
    params:
        cluster=lambda w: wc.cluster_params(config, cell_of(w), w.phase, int(w.k)),
    log:
        f"{RESULTS}/logs/cluster/{CELL}/{{phase}}-k{{k}}.log",
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    shell:
        "{NNSTRUCTURE} cluster {input.graph:q} --k {params.cluster[k]} --n-init {params.cluster[n_init]}"
        " --seed {params.cluster[seed]} --out {output.labels:q} 2> {log:q}"


rule shuffles:
    input:
        graph=rules.graph.output[0],
    output:
        f"{RESULTS}/shuffles/{CELL}/{{phase}}-k{{k}}-{{kind}}.parquet",
    params:
        shuffle=lambda w: wc.shuffle_params(config, cell_of(w), w.phase, int(w.k), w.kind),
    log:
        f"{RESULTS}/logs/shuffles/{CELL}/{{phase}}-k{{k}}-{{kind}}.log",
    threads: config["threads"]["shuffles"]
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    shell:
        "{NNSTRUCTURE} shuffles {input.graph:q} --k {params.shuffle[k]} --n-init {params.shuffle[n_init]}"
        " --n-shuffles {params.shuffle[n_shuffles]} --kind {params.shuffle[kind]}"
        " --seed {params.shuffle[seed]} --threads {threads} --out {output:q} 2> {log:q}"


def row_shuffles(wildcards):
    if wildcards.kind == "none":
        return []
    return f"{RESULTS}/shuffles/{CELL}/{{phase}}-k{{k}}-{{kind}}.parquet".format(**wildcards)


rule clusterability_row:
    input:
        checkpoint=network_checkpoint,
        labels=rules.cluster.output.labels,
        shuffles=row_shuffles,
    output:
        f"{RESULTS}/rows/{CELL}/{{phase}}-k{{k}}-{{kind}}.parquet",
    params:
        labels=lambda w: wc.row_labels(config, cell_of(w), w.phase),
        clustering=lambda w: {
            **wc.cluster_params(config, cell_of(w), w.phase, int(w.k)),
            **wc.graph_params(config, w.experiment),
            "shuffle": w.kind,
        },
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow_scripts/clusterability_row.py"
