"""Snakemake entry point: one randomly initialised (never trained) network, built from its dataset's shape (no data)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.random_init import random_init_network  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.init
with log_to(sm.log[0]):
    meta = random_init_network(p["arch"], p["dataset"], p["settings"], seed=p["seed"], out=sm.output.network)
    print(f"{p['arch']} for {p['dataset']}: {meta['n_parameters']} parameters, randomly initialised (seed {p['seed']})")
