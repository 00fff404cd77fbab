"""Snakemake entry point: the pooled layers of one network (trained or a random baseline), cached once for every probe."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402
from nnstructure.workflow_config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.features
argv = ["probe-features", sm.input.network, "--layers", ",".join(map(str, p["layers"])),
        "--network", job_network_name(sm.wildcards), "--out", sm.output.features, "--device", sm.config["device"], "--quiet"]
if "dots_seed" in p:
    argv += ["--dots-seed", str(p["dots_seed"]), "--dots-n", str(p["dots_n"])]
else:
    argv += ["--dataset", str(Path(sm.input.transitions).parent)]
if "random_init" in p:
    argv += ["--random-init", str(p["random_init"])]
run_logged(argv, sm.log[0])
