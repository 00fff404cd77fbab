"""Snakemake entry point: one proxy (lesion or visualisation) on every true and random subcluster of a partition."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.specialization.steps import subcluster_proxy  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    subcluster_proxy(sm.input.network, sm.input.labels, sm.input.data, sm.output.results, sm.params.proxy,
                     images=sm.output.get("images"), device=sm.config["device"])
