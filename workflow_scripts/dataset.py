"""Snakemake entry point: build one dataset artifact and its preview (the summary goes to the log)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.data.cli import build_dataset_artifact  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.dataset
with log_to(sm.log[0]):
    # The data directory is where real files are looked for (a config value, not a param):
    # what they contain is fixed by the checksums in the params.
    build_dataset_artifact(sm.wildcards.dataset, sm.config["data_dir"], seed=p["seed"], n_train=p["n_train"],
                           n_test=p["n_test"], out=sm.output.data, preview=sm.output.preview)
