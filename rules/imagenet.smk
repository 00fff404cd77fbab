# ImageNet networks (thesis Table A.7): analysed only for architectures whose
# torchvision-format weight files the user put in <data_dir>/imagenet/.


def imagenet_available():
    if not config["imagenet"]["enabled"]:
        return []
    from nnstructure.imagenet import find_imagenet_weights, missing_weights_message

    found = find_imagenet_weights(DATA_DIR)
    for arch in config["imagenet"]["archs"]:
        if arch not in found:
            print(f"nnstructure: skipping ImageNet {arch}: {missing_weights_message(arch, DATA_DIR)}", file=sys.stderr)
    return [a for a in config["imagenet"]["archs"] if a in found]


IMAGENET_ARCHS = imagenet_available()


def imagenet_targets():
    return [f"{RESULTS}/imagenet/{a}.parquet" for a in IMAGENET_ARCHS]


def imagenet_shuffle_targets():
    return [f"{RESULTS}/imagenet/{a}-shuffles.parquet" for a in IMAGENET_ARCHS]


rule imagenet_clusterability:
    output:
        row=f"{RESULTS}/imagenet/{{arch}}.parquet",
        shuffles=f"{RESULTS}/imagenet/{{arch}}-shuffles.parquet",
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
