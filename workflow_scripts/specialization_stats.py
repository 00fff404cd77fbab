"""Snakemake entry point: chapter 4's statistics over every proxy result (Fisher, Bates, Benjamini-Hochberg, effects)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cli import run_logged  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.stats
argv = ["specialization-stats", *sm.input.results, "--ties", p["ties"], "--alpha", str(p["alpha"]),
        "--family-class-range", p["family_class_range"], "--per-network", sm.output.per_network,
        "--percentiles", sm.output.percentiles, "--out", sm.output.stats]
run_logged(argv, sm.log[0])
