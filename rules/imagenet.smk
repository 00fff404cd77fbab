# ImageNet networks (thesis Table A.7): analysed only for architectures whose
# torchvision-format weight files the user put in <data_dir>/imagenet/.


def imagenet_available():
    if not config["imagenet"]["enabled"]:
        return []
    from nnstructure.imagenet import find_imagenet_weights

    found = find_imagenet_weights(DATA_DIR)
    for arch in config["imagenet"]["archs"]:
        if arch not in found:
            print(
                f"nnstructure: skipping ImageNet {arch}: no weights in {DATA_DIR}/imagenet/ "
                f"(put torchvision's {arch} state_dict there as {arch}.pth)",
                file=sys.stderr,
            )
    return [a for a in config["imagenet"]["archs"] if a in found]


def imagenet_targets():
    archs = imagenet_available()
    return [f"{RESULTS}/imagenet/{a}.parquet" for a in archs]


rule imagenet_clusterability:
    output:
        f"{RESULTS}/imagenet/{{arch}}.parquet",
    params:
        settings=lambda w: {
            **config["imagenet"],
            "kernel_norm": config["clustering"]["kernel_norm"],
            "fold_batchnorm": config["clustering"]["fold_batchnorm"],
        },
        data_dir=DATA_DIR,
    log:
        f"{RESULTS}/logs/imagenet/{{arch}}.log",
    threads: config["threads"]["shuffles"]
    resources:
        mem_mb=16000,
        runtime=24 * 60,
    script:
        "../workflow_scripts/imagenet_clusterability.py"
