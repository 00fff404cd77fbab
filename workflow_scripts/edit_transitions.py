"""Snakemake entry point: Table 5.2's edited CoinRun transitions, made in the game state and checked by the game."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.steps import edit_transitions  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    edit_transitions(str(Path(sm.input.transitions).parent), sm.output.edits, sm.params.edit)
