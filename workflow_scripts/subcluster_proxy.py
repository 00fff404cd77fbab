"""Snakemake entry point: one proxy (lesion or visualisation) on every true and random subcluster of a partition."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.proxy
argv = ["subcluster-proxy", sm.input.network, "--labels", sm.input.labels, "--proxy", p["proxy"],
        "--n-random", str(p["n_random"]), "--random-pool", p["random_pool"], "--seed", str(p["seed"]),
        "--condition", p["condition"], "--replicate", p["replicate"], "--dataset", sm.input.data,
        "--device", sm.config["device"], "--out", sm.output.results]
vis = p.get("visualization", {})
if vis:
    argv += ["--vis-method", vis.get("method", "thesis"), "--images", sm.output.images]
    for key in ("parameterization", "steps", "lr", "transforms", "objective"):
        if key in vis:
            argv += [f"--vis-{key}", str(vis[key])]
run_logged(argv, sm.log[0])
