"""Gather per-network clusterability rows and their shuffle distributions into two tables.

Each row gains its partition's method and quality (issue 21) from its labels table's summary, which the row's
own cluster job wrote (the row step reads the same file, so the row is rebuilt, and this table with it, whenever
the labels change): the method, its settings, the number of clusters found, modularity and cluster sizes. Rows
partitioned by a method other than spectral also compare their modularity with their shuffles' (the same
method on every shuffle); the spectral shuffles record n-cuts only (their fast path never builds an adjacency).
"""

from __future__ import annotations

import json
import math
import os
from typing import Sequence

import numpy as np
import pandas as pd

from nnstructure.io import ArtifactError, read_parquet
from nnstructure.paths import ArtifactPaths

#: Columns that identify a row (and the shuffle table that belongs to it).
ROW_KEYS = ("experiment", "condition", "seed", "phase", "k", "shuffle")
#: Row columns repeated beside every shuffled n-cut.
SHUFFLE_LABELS = ("experiment", "network_set", "condition", "seed", "kind", "arch", "dataset", "reg", "init",
                  "pruned", "phase", "k", "shuffle", "method")
#: Each shuffle's values (modularity and clusters found: recorded by the non-spectral methods' shuffles).
SHUFFLE_VALUES = ("index", "ncut", "modularity", "n_clusters")
#: The partition's columns of a row (:func:`partition_columns`).
PARTITION_COLUMNS = ("method", "method_settings", "n_clusters", "modularity", "size_min", "size_median", "size_max",
                     "largest_fraction", "n_singletons", "modularity_shuffle_mean", "modularity_p_value",
                     "modularity_z", "shuffle_clusters_mean")


def partition_columns(summary: dict, shuffles: pd.DataFrame | None) -> dict:
    """A row's partition columns (:data:`PARTITION_COLUMNS`) from its labels summary and its shuffle table.

    Summaries written before partition methods existed are spectral ones without modularity or sizes
    (``nan``); the modularity comparison needs shuffles that record modularity (the non-spectral methods').
    """
    from nnstructure.cluster.relative import relative_clusterability_stats

    nan = math.nan
    cols = {key: summary.get(key, nan) for key in PARTITION_COLUMNS}
    cols["method"] = summary.get("method", "spectral")
    cols["method_settings"] = json.dumps(summary.get("method_settings") or {}, sort_keys=True)
    cols.update(modularity_shuffle_mean=nan, modularity_p_value=nan, modularity_z=nan, shuffle_clusters_mean=nan)
    if shuffles is not None and "modularity" in shuffles and len(shuffles) and not math.isnan(cols["modularity"]):
        # higher modularity is more modular: compare its negative the way the n-cut is compared (left p-value)
        stats = relative_clusterability_stats(-cols["modularity"], -shuffles["modularity"].to_numpy(dtype=float))
        cols.update(modularity_shuffle_mean=-stats["shuffle_mean"], modularity_p_value=stats["p_value"],
                    modularity_z=-stats["z_score"], shuffle_clusters_mean=float(np.mean(shuffles["n_clusters"])))
    return cols


def row_k_setting(row) -> int | str:
    """The ``k`` a row's files are named by: ``"auto"`` for a row clustered with ``k: auto`` (its ``k`` column
    holds the k chosen), else the row's ``k``."""
    return "auto" if row.get("k_setting") == "auto" else int(row["k"])


def aggregate_clusterability(row_paths: Sequence[str | os.PathLike], paths: ArtifactPaths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all rows, all shuffled n-cuts); each row's shuffle table is found by the row's key, not by position.

    A row with ``shuffle != "none"`` whose shuffle table is missing, or whose
    table has a different length than the row's ``n_shuffles``, is an error. Every row gains
    :func:`partition_columns` from its labels table's summary.
    """
    if not row_paths:
        return pd.DataFrame(), pd.DataFrame(columns=[*SHUFFLE_LABELS, *SHUFFLE_VALUES])
    rows = pd.concat([read_parquet(p) for p in row_paths], ignore_index=True)
    # k_setting (issue 21) only where some row chose its k (k: [12, auto] may both give 12); a preset without
    # k: auto keeps the columns it had
    chosen_k = ["k_setting"] if "k_setting" in rows else []
    keys = [*ROW_KEYS, *chosen_k]
    duplicated = rows.duplicated(keys)
    if duplicated.any():
        raise ValueError(f"duplicate clusterability rows for keys {rows.loc[duplicated, keys].to_dict('records')[:3]}")
    from nnstructure.cluster.labels_table import read_cluster_summary

    labels_out = [*SHUFFLE_LABELS, *chosen_k]
    frames, partitions = [], []
    for _, row in rows.iterrows():
        cell = (row["experiment"], row["condition"], int(row["seed"]), row["phase"], row_k_setting(row))
        summary = read_cluster_summary(paths.cluster_labels(*cell))
        if row["shuffle"] == "none":
            partitions.append(partition_columns(summary, None))
            continue
        path = paths.shuffles(*cell, row["shuffle"])
        if not os.path.exists(path):
            raise ArtifactError(f"row {dict(row[list(ROW_KEYS)])} has no shuffle table {path}; rerun its shuffles step")
        table = read_parquet(path)
        if len(table) != int(row["n_shuffles"]):
            raise ArtifactError(f"shuffle table {path} has {len(table)} n-cuts but its row says {int(row['n_shuffles'])}; "
                                "delete both and rerun")
        partitions.append(partition_columns(summary, table))
        labels = {**row.to_dict(), "method": partitions[-1]["method"]}
        df = table.reindex(columns=list(SHUFFLE_VALUES))  # modularity, n_clusters: nan for spectral shuffles
        for name in labels_out:
            df[name] = labels.get(name)
        frames.append(df)
    partition = pd.DataFrame(partitions, columns=list(PARTITION_COLUMNS), index=rows.index)
    rows = pd.concat([rows.drop(columns=[c for c in PARTITION_COLUMNS if c in rows]), partition], axis=1)
    shuffles = (pd.concat(frames, ignore_index=True)[[*labels_out, *SHUFFLE_VALUES]] if frames
                else pd.DataFrame(columns=[*labels_out, *SHUFFLE_VALUES]))
    return rows, shuffles
