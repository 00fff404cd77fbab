"""Snakemake entry point: train one network (unpruned phase, then pruning)."""

import contextlib

from nnstructure.data.dataset import load_dataset
from nnstructure.train import train_from_settings

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.train
with open(sm.log[0], "w") as log, contextlib.redirect_stderr(log):
    train_from_settings(
        load_dataset(sm.input.data),
        arch=p["arch"],
        settings=p["train"],
        seed=p["seed"],
        out=sm.output.final,
        unpruned_out=sm.output.unpruned,
        log=sm.output.metrics,
        device=p["device"],
        threads=sm.threads,
    )
