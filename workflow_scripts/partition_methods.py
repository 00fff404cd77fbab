"""Snakemake entry point: one partition method on one network phase, quality and specialisation (issue 21)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cluster.method_comparison import compare_partition_methods  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    # The device comes from the config, not the params: it does not change the comparison.
    compare_partition_methods(sm.input.network, sm.input.data, sm.output.rows, sm.params.comparison,
                              device=sm.config["device"])
