"""Snakemake entry point: one test of a reward net: random noise (Table 5.1), edited transitions (5.2) or a visualisation."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402
from nnstructure.workflow_config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

device = sm.config["device"]
name = job_network_name(sm.wildcards)  # the tables get the display label when aggregated
if sm.rule == "noise_test":
    p = sm.params.noise
    argv = ["noise-test", sm.input.network, "--n", str(p["n"]), "--clip" if p["clip"] else "--no-clip",
            "--seed", str(p["seed"]), "--label", name, "--out", sm.output.table, "--device", device]
elif sm.rule == "predict_edits":
    argv = ["predict-transitions", sm.input.network, sm.input.edits, "--label", name,
            "--out", sm.output.table, "--device", device]
else:
    p = sm.params.vis
    argv = ["visualize-reward", sm.input.network, "--mode", p["mode"], "--seed", str(p["seed"]), "--label", name,
            "--out", sm.output.out, "--device", device]
    if p["steps"] is not None:
        argv += ["--steps", str(p["steps"])]
    if p["mode"] == "from-dataset":
        argv += ["--dataset", str(Path(sm.input.transitions).parent)]
    elif p["mode"] == "from-edits":
        argv += ["--edits", sm.input.edits]
run_logged(argv, sm.log[0])
