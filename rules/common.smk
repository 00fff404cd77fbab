# Helpers shared by the rule files: which cells exist and what each rule depends on.


def cell_of(wildcards):
    return wc.Cell(wildcards.experiment, wildcards.condition, int(wildcards.seed))


def experiment_datasets():
    return sorted({wc.experiment(config, e)["dataset"] for e in wc.enabled_experiments(config)})


def dataset_targets():
    out = []
    for name in experiment_datasets():
        out += [f"{RESULTS}/datasets/{name}.npz", f"{RESULTS}/datasets/{name}.png"]
    return out
