"""Snakemake entry point: one randomly initialised (never trained) network, evaluated on its dataset."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.data.dataset import load_dataset  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.train import train_from_settings  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.init
with log_to(sm.log[0]):
    # Zero epochs: the model is built (and, with clusterable init, reshaped) from the seed and evaluated.
    train_from_settings(
        load_dataset(sm.input.data), arch=p["arch"], settings={**p["settings"], "epochs": 0, "prune_epochs": 0},
        seed=p["seed"], out=sm.output.network, device=sm.config["device"], threads=sm.threads, progress=False,
    )
