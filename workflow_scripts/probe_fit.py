"""Snakemake entry point: one probe (Adam and exact least squares) of one layer for one target."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)

p = sm.params.fit
argv = ["probe-fit", sm.input.features, "--layer", str(p["layer"]), "--target", p["target"], "--seed", str(p["seed"]),
        "--out", sm.output.row]
if p["filtered"]:
    argv.append("--filtered")
if p.get("thesis_network"):  # absent where probes.epochs sets the epochs
    argv += ["--thesis-network", p["thesis_network"]]
if "epochs" in p:
    argv += ["--epochs", str(p["epochs"])]
run_logged(argv, sm.log[0])
