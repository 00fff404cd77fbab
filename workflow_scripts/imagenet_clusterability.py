"""Snakemake entry point: relative clusterability of one ImageNet network (thesis Table A.7)."""

import contextlib

import numpy as np
import pandas as pd

from nnstructure.cluster import relative_clusterability
from nnstructure.imagenet import imagenet_weight_graph, load_imagenet_weights
from nnstructure.io import write_parquet
from nnstructure.seeding import derive_seed

sm = snakemake  # noqa: F821 (injected by Snakemake)
s = sm.params.settings
arch = sm.wildcards.arch
with open(sm.log[0], "w") as log, contextlib.redirect_stderr(log):
    model = load_imagenet_weights(arch, sm.params.data_dir)
    graph = imagenet_weight_graph(model, arch, kernel_norm=s["kernel_norm"], fold_batchnorm=s["fold_batchnorm"])
    result = relative_clusterability(
        graph, k=s["k"], n_shuffles=s["n_shuffles"], kind="layer", n_init=s["n_init"],
        seed=derive_seed("imagenet", arch), n_jobs=sm.threads,
    )
row = {
    "experiment": "imagenet", "condition": "pretrained", "seed": 0, "kind": "clusterability",
    "arch": arch.replace("_", ""), "dataset": "imagenet", "reg": "none", "init": "pretrained",
    "pruned": False, "phase": "unpruned", "epochs_variant": "default",
    "k": result["k"], "n_init": result["n_init"], "shuffle": "layer",
    "kernel_norm": s["kernel_norm"], "fold_batchnorm": s["fold_batchnorm"],
    "n_shuffles": len(result["shuffled_ncuts"]), "ncut": result["ncut"],
    "shuffle_mean": result["shuffle_mean"], "shuffle_std": result["shuffle_std"],
    "shuffle_min": float(np.min(result["shuffled_ncuts"])), "p_value": result["p_value"],
    "z_score": result["z_score"], "n_nodes": result["n_nodes"],
}
shuffles = pd.DataFrame({"index": np.arange(len(result["shuffled_ncuts"])), "ncut": result["shuffled_ncuts"]})
write_parquet(shuffles, sm.output.shuffles)
write_parquet(pd.DataFrame([row]), sm.output.row)
