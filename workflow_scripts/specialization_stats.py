"""Snakemake entry point: chapter 4's statistics over every proxy result (Fisher, Bates, Benjamini-Hochberg, effects)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.specialization.steps import specialization_stats  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    specialization_stats(list(sm.input.results), sm.output.stats, sm.params.stats, per_network=sm.output.per_network,
                         percentiles=sm.output.percentiles)
