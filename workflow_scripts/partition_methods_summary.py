"""Snakemake entry point: the partition-methods table of every network, its figure and its conclusion (issue 21)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cluster.method_comparison import summarise_partition_methods  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    summarise_partition_methods(list(sm.input.rows), sm.output.table, sm.output.figure, sm.output.conclusion)
