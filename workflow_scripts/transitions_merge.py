"""Snakemake entry point: merge a transition dataset's shards (train/test split by episode, statistics)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import main  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.merge
argv = ["transitions-merge", str(Path(sm.output.transitions).parent), "--expect-shards", str(p["shards"]),
        "--test-fraction", str(p["test_fraction"]), "--split-seed", str(p["split_seed"])]
with log_to(sm.log[0]):
    code = main(argv)
if code:
    raise SystemExit(f"nnstructure transitions-merge failed (exit {code}); see {sm.log[0]}")
