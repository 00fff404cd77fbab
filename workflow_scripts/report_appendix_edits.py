"""Snakemake entry point: Figures C.14-C.21's edits, made on Table 5.2's transitions (game state and pixels)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.appendix_edits import make_appendix_edits  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    made = make_appendix_edits(Path(sm.input.transitions).parent, sm.input.edits, sm.output.edits)
    print("transitions edited, per edit:", made)
