"""Snakemake entry point: Table 5.2's edited CoinRun transitions, made in the game state and checked by the game."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import main  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.edit
argv = ["edit-transitions", str(Path(sm.input.transitions).parent), "--n", str(p["n"]), "--seed", str(p["seed"]),
        "--out", sm.output.edits]
with log_to(sm.log[0]):
    code = main(argv)
if code:
    raise SystemExit(f"nnstructure edit-transitions failed (exit {code}); see {sm.log[0]}")
