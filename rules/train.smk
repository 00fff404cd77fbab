# Training: one job per network (experiment x condition x seed). Its params are
# exactly the settings that change the network, so editing one condition's
# training retrains that condition only, and clustering settings never retrain.


def network_dataset(wildcards):
    return f"{RESULTS}/datasets/{wc.experiment(config, wildcards.experiment)['dataset']}.npz"


rule train:
    input:
        data=network_dataset,
    output:
        unpruned=f"{RESULTS}/networks/{{experiment}}/{{condition}}/seed{{seed}}/unpruned.pt",
        final=f"{RESULTS}/networks/{{experiment}}/{{condition}}/seed{{seed}}/final.pt",
        metrics=f"{RESULTS}/networks/{{experiment}}/{{condition}}/seed{{seed}}/metrics.parquet",
    params:
        train=lambda w: wc.train_params(config, cell_of(w)),
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{condition}}/seed{{seed}}.log",
    threads: config["threads"]["train"]
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    script:
        "../workflow_scripts/train.py"


def network_checkpoint(wildcards):
    name = "unpruned" if wildcards.phase == "unpruned" else "final"
    return f"{RESULTS}/networks/{wildcards.experiment}/{wildcards.condition}/seed{wildcards.seed}/{name}.pt"
