"""Snakemake entry point: one probe (Adam and exact least squares) of one layer for one target."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.probe.steps import probe_fit  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    probe_fit(sm.input.features, sm.output.row, sm.params.fit)
