"""Snakemake entry point: train one network (unpruned phase, then pruning); progress goes to the log."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.data.dataset import load_dataset  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.train import train_from_settings  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.train
with log_to(sm.log[0]):
    # The device comes from the config, not the params: it is recorded in the checkpoint instead.
    train_from_settings(
        load_dataset(sm.input.data), arch=p["arch"], settings=p["settings"], seed=p["seed"],
        out=sm.output.final, unpruned_out=sm.output.unpruned, log=sm.output.metrics,
        device=sm.config["device"], threads=sm.threads,
    )
