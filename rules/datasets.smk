# Datasets: one cached artifact (+ a preview grid) per dataset used by the config.


def dataset_args(wildcards):
    opts = wc.dataset_params(config, wildcards.dataset)
    args = [f"--seed {opts['seed']}"]
    if opts["n_train"]:
        args.append(f"--n-train {opts['n_train']}")
    if opts["n_test"]:
        args.append(f"--n-test {opts['n_test']}")
    return " ".join(args)


rule dataset:
    output:
        data=f"{RESULTS}/datasets/{{dataset}}.npz",
        preview=report(
            f"{RESULTS}/datasets/{{dataset}}.png",
            caption="../report/dataset.rst",
            category="Datasets",
            labels={"dataset": "{dataset}"},
        ),
    params:
        args=dataset_args,
        data_dir=DATA_DIR,
    log:
        f"{RESULTS}/logs/dataset/{{dataset}}.log",
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "{NNSTRUCTURE} dataset {wildcards.dataset} --data-dir {params.data_dir:q} {params.args}"
        " --out {output.data:q} --preview {output.preview:q} 2> {log:q}"
