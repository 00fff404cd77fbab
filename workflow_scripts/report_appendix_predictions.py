"""Snakemake entry point: one reward net's predicted rewards on Figures C.14-C.21's edits."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.appendix_edits import predict_appendix_edits  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    w = sm.wildcards
    label = f"{w.entry}/{w.condition}/seed{w.seed}"
    table = predict_appendix_edits(sm.input.network, sm.input.edits, sm.output.table, label=label,
                                   transitions=sm.params.transitions, device=sm.config["device"])
    print(table.groupby("edit")["predicted_reward"].describe())
