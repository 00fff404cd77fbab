"""Snakemake entry point: one results row for a network and clustering setting."""

import numpy as np
import pandas as pd

from nnstructure.checkpoint import network_metrics, read_metadata
from nnstructure.cluster import read_cluster_summary, relative_clusterability_stats
from nnstructure.io import read_parquet, write_parquet

sm = snakemake  # noqa: F821 (injected by Snakemake)
summary = read_cluster_summary(sm.input.labels)
shuffled = np.array([]) if sm.wildcards.kind == "none" else read_parquet(sm.input.shuffles)["ncut"].to_numpy()
stats = relative_clusterability_stats(summary["ncut"], shuffled) if len(shuffled) else {}
meta = read_metadata(sm.input.checkpoint)

row = {
    **sm.params.labels,
    "k": sm.params.clustering["k"],
    "n_init": summary.get("n_init", sm.params.clustering["n_init"]),
    "shuffle": sm.params.clustering["shuffle"],
    "kernel_norm": sm.params.clustering["kernel_norm"],
    "fold_batchnorm": sm.params.clustering["fold_batchnorm"],
    "n_shuffles": len(shuffled),
    "ncut": summary["ncut"],
    "shuffle_mean": stats.get("shuffle_mean", np.nan),
    "shuffle_std": stats.get("shuffle_std", np.nan),
    "shuffle_min": float(shuffled.min()) if len(shuffled) else np.nan,
    "p_value": stats.get("p_value", np.nan),
    "z_score": stats.get("z_score", np.nan),
    "n_nodes": summary["n_nodes"],
}
row.update(network_metrics(meta))
write_parquet(pd.DataFrame([row]), sm.output[0])
