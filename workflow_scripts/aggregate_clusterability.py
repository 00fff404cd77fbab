"""Snakemake entry point: every clusterability row in one table, and every shuffled n-cut beside its row's keys."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cluster.aggregate import aggregate_clusterability  # noqa: E402
from nnstructure.io import write_parquet  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.paths import ArtifactPaths  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    paths = ArtifactPaths(sm.params.results)
    rows, shuffles = aggregate_clusterability(list(sm.input.rows), paths)
    write_parquet(rows, sm.output.rows)
    write_parquet(shuffles, sm.output.shuffles)
    print(f"{len(rows)} rows, {len(shuffles)} shuffled n-cuts")
