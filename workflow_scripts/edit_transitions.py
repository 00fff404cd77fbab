"""Snakemake entry point: Table 5.2's edited CoinRun transitions, made in the game state and checked by the game."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.edit
argv = ["edit-transitions", str(Path(sm.input.transitions).parent), "--n", str(p["n"]), "--seed", str(p["seed"]),
        "--out", sm.output.edits]
run_logged(argv, sm.log[0])
