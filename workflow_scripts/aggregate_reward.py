"""Snakemake entry point: chapter 5's results gathered into the tables its two report modules read."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.aggregate import aggregate_reward_results  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    root = Path(sm.output.datasets).parent.parent  # <results>/<preset>
    written = aggregate_reward_results(sm.config, str(root), {name: path for name, path in sm.output.items()})
    for name, n in written.items():
        print(f"{name}: {n} rows")
