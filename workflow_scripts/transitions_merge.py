"""Snakemake entry point: merge a transition dataset's shards (train/test split by episode, statistics)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.steps import transitions_merge  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    transitions_merge(str(Path(sm.output.transitions).parent), sm.params.merge)
