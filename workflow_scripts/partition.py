"""Snakemake entry point: one partitioning of one network phase (chapter 4), through `nnstructure partition`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.partition
argv = ["partition", sm.input.network, "--partitioning", p["partitioning"], "--k", str(p["k"]), "--seed", str(p["seed"]),
        "--n-init", str(p["n_init"]), "--dataset", sm.input.data, "--device", sm.config["device"], "--out", sm.output.labels]
if "validation_size" in p:
    argv += ["--validation-size", str(p["validation_size"])]
if "kernel_norm" in p:
    argv += ["--kernel-norm", p["kernel_norm"]] + ([] if p["fold_batchnorm"] else ["--no-fold-batchnorm"])
if "layer_scope" in p:
    argv += ["--layer-scope", p["layer_scope"], "--network-labels", sm.input.network_labels]
run_logged(argv, sm.log[0])
