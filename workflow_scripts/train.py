"""Snakemake entry point: train one network (unpruned phase, then pruning)."""

import shutil

from nnstructure.data.dataset import load_dataset
from nnstructure.train import train_from_settings

p = snakemake.params.train  # noqa: F821 (injected by Snakemake)
out = snakemake.output  # noqa: F821

with open(snakemake.log[0], "w") as log:  # noqa: F821
    import contextlib

    with contextlib.redirect_stderr(log):
        dataset = load_dataset(snakemake.input.data)  # noqa: F821
        train_from_settings(
            dataset,
            arch=p["arch"],
            settings=p["train"],
            seed=p["seed"],
            out=out.final,
            unpruned_out=out.unpruned,
            log=out.metrics,
            device=p["device"],
            threads=snakemake.threads,  # noqa: F821
        )
