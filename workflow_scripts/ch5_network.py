"""Snakemake entry point: train one chapter-5 network (a reward net, an adversarially trained one, or a dots net)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.probe.steps import dots_net  # noqa: E402
from nnstructure.reward.steps import adversarial_net, reward_net  # noqa: E402
from nnstructure.workflow.config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.net
kind, device = p["kind"], sm.config["device"]  # the device is recorded in the checkpoint, not a param
with log_to(sm.log[0]):
    if kind == "adversarial":
        adversarial_net(str(Path(sm.input.transitions).parent), sm.output.network, sm.output.examples, p["settings"],
                        seed=p["seed"], log=sm.output.metrics, summary=sm.output.summary, epochs_table=sm.output.epochs,
                        device=device, progress=False)
    elif kind == "reward":
        reward_net(str(Path(sm.input.transitions).parent), sm.output.network, p["settings"], seed=p["seed"],
                   log=sm.output.metrics, summary=sm.output.row, device=device, threads=sm.threads, progress=False)
    else:
        dots_net(sm.output.network, p["settings"], seed=p["seed"], log=sm.output.metrics, row=sm.output.row,
                 network=job_network_name(sm.wildcards), device=device, progress=False)
