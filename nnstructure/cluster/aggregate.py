"""Gather per-network clusterability rows and their shuffle distributions into two tables."""

from __future__ import annotations

import os
from typing import Sequence

import pandas as pd

from nnstructure.io import ArtifactError, read_parquet
from nnstructure.paths import ArtifactPaths

#: Columns that identify a row (and the shuffle table that belongs to it).
ROW_KEYS = ("experiment", "condition", "seed", "phase", "k", "shuffle")
#: Row columns repeated beside every shuffled n-cut.
SHUFFLE_LABELS = ("experiment", "network_set", "condition", "seed", "kind", "arch", "dataset", "reg", "init",
                  "pruned", "phase", "k", "shuffle")


def aggregate_clusterability(row_paths: Sequence[str | os.PathLike], paths: ArtifactPaths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all rows, all shuffled n-cuts); each row's shuffle table is found by the row's key, not by position.

    A row with ``shuffle != "none"`` whose shuffle table is missing, or whose
    table has a different length than the row's ``n_shuffles``, is an error.
    """
    if not row_paths:
        return pd.DataFrame(), pd.DataFrame(columns=[*SHUFFLE_LABELS, "index", "ncut"])
    rows = pd.concat([read_parquet(p) for p in row_paths], ignore_index=True)
    duplicated = rows.duplicated(list(ROW_KEYS))
    if duplicated.any():
        raise ValueError(f"duplicate clusterability rows for keys {rows.loc[duplicated, list(ROW_KEYS)].to_dict('records')[:3]}")
    frames = []
    for _, row in rows[rows["shuffle"] != "none"].iterrows():
        path = paths.shuffles(row["experiment"], row["condition"], int(row["seed"]), row["phase"], int(row["k"]), row["shuffle"])
        if not os.path.exists(path):
            raise ArtifactError(f"row {dict(row[list(ROW_KEYS)])} has no shuffle table {path}; rerun its shuffles step")
        table = read_parquet(path)
        if len(table) != int(row["n_shuffles"]):
            raise ArtifactError(f"shuffle table {path} has {len(table)} n-cuts but its row says {int(row['n_shuffles'])}; "
                                "delete both and rerun")
        df = table[["index", "ncut"]].copy()
        for key in SHUFFLE_LABELS:
            df[key] = row.get(key)
        frames.append(df)
    shuffles = (pd.concat(frames, ignore_index=True)[[*SHUFFLE_LABELS, "index", "ncut"]] if frames
                else pd.DataFrame(columns=[*SHUFFLE_LABELS, "index", "ncut"]))
    return rows, shuffles
