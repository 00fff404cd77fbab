"""Snakemake entry point: train one chapter-5 network (a reward net, an adversarially trained one, or a dots net)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402
from nnstructure.workflow_config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

from nnstructure.reward.settings import NETWORK_KIND_COMMANDS, command_options  # noqa: E402

p = sm.params.net
kind, device = p["kind"], sm.config["device"]  # the device is recorded in the checkpoint, not a param
argv = [NETWORK_KIND_COMMANDS[kind]]
if kind == "adversarial":
    argv += [str(Path(sm.input.transitions).parent), "--examples", sm.output.examples,
             "--summary", sm.output.summary, "--epochs-table", sm.output.epochs]
elif kind == "reward":
    argv += ["--dataset", str(Path(sm.input.transitions).parent), "--summary", sm.output.row, "--threads", str(sm.threads)]
else:
    argv += ["--row", sm.output.row, "--network", job_network_name(sm.wildcards)]
argv += [*command_options(p["settings"]), "--seed", str(p["seed"]), "--out", sm.output.network, "--log", sm.output.metrics,
         "--device", device, "--quiet"]
run_logged(argv, sm.log[0])
