"""Snakemake entry point: one partitioning of one network phase (chapter 4)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.specialization.steps import partition  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    # The device comes from the config, not the params: it does not change the partition.
    partition(sm.input.network, sm.input.data, sm.output.labels, sm.params.partition,
              network_labels=sm.input.get("network_labels"), device=sm.config["device"])
