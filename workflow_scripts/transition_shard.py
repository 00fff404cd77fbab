"""Snakemake entry point: one shard of a procgen transition dataset (`nnstructure transitions`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = dict(sm.params.shard)
folder = str(Path(sm.output.frames).parent.parent)  # the dataset folder; the shard goes to its shards/
argv = ["transitions", "--game", p.pop("game"), "--episodes", str(p.pop("episodes_per_shard")), "--shard", str(p.pop("shard")),
        "--out", folder]
for key, value in p.items():
    argv += ["--" + key.replace("_", "-"), str(value)]
run_logged(argv, sm.log[0])
