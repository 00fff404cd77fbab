"""Snakemake entry point: one shard of a procgen transition dataset."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.steps import transition_shard  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    folder = str(Path(sm.output.frames).parent.parent)  # the dataset folder; the shard goes to its shards/
    transition_shard(folder, sm.params.shard)
