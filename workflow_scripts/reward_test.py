"""Snakemake entry point: one test of a reward net: random noise (Table 5.1), edited transitions (5.2) or a visualisation."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.reward.steps import noise_test, predict_edits, visualize_reward  # noqa: E402
from nnstructure.workflow.config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
device = sm.config["device"]
name = job_network_name(sm.wildcards)  # the tables get the display label when aggregated
with log_to(sm.log[0]):
    if sm.rule == "noise_test":
        noise_test(sm.input.network, sm.output.table, sm.params.noise, label=name, device=device)
    elif sm.rule == "predict_edits":
        predict_edits(sm.input.network, sm.input.edits, sm.output.table, label=name, device=device)
    else:
        transitions = sm.input.get("transitions")
        visualize_reward(sm.input.network, sm.output.out, sm.params.vis, label=name, device=device,
                         dataset=str(Path(transitions).parent) if transitions else None, edits=sm.input.get("edits"))
