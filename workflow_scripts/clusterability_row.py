"""Snakemake entry point: one results row for a network phase and clustering setting."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

import pandas as pd  # noqa: E402

from nnstructure.cluster import read_cluster_summary  # noqa: E402
from nnstructure.graph import load_graph  # noqa: E402
from nnstructure.io import read_parquet, write_parquet  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.results import clusterability_row  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    shuffles = read_parquet(sm.input.shuffles) if sm.input.get("shuffles") else None
    row = clusterability_row(
        labels=sm.params.labels,
        clustering=sm.params.clustering,
        summary=read_cluster_summary(sm.input.labels),
        shuffled=None if shuffles is None else shuffles["ncut"].to_numpy(),
        network_metadata=load_graph(sm.input.graph).meta["network"],  # the checkpoint's metadata, kept by the graph step
        shuffle_device=None if shuffles is None or "device" not in shuffles else str(shuffles["device"].iloc[0]),
    )
    write_parquet(pd.DataFrame([row]), sm.output.row)
    print(row)
