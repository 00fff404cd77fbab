"""Snakemake entry point: merge a transition dataset's shards (train/test split by episode, statistics)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.merge
argv = ["transitions-merge", str(Path(sm.output.transitions).parent), "--expect-shards", str(p["shards"]),
        "--test-fraction", str(p["test_fraction"]), "--split-seed", str(p["split_seed"])]
run_logged(argv, sm.log[0])
