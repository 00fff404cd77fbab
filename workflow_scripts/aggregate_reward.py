"""Snakemake entry point: chapter 5's results gathered into the tables its two report modules read.

It reads ``snakemake.input`` only; the columns it writes into each file's rows
(display labels among them) are its params.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.aggregate import aggregate_reward_results  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    inputs = {name: list(files) for name, files in sm.input.items()}
    written = aggregate_reward_results(inputs, sm.params.columns, dict(sm.output.items()))
    for name, n in written.items():
        print(f"{name}: {n} rows")
