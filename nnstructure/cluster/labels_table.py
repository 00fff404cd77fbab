"""The clustering artifact: a Parquet table of node labels with the run's summary in its metadata.

Columns ``layer, layer_name, unit, label`` (one row per node of the full graph,
``label = -1`` for zero-degree nodes). The summary (``ncut, n_nodes, k, n_init,
seed``) rides in the Parquet schema metadata under ``nnstructure.cluster``, so
one file carries both and cannot go out of step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.graph.blocks import BlockGraph
from nnstructure.io import ArtifactError, atomic_path

_SUMMARY_KEY = b"nnstructure.cluster"


def labels_frame(graph: BlockGraph, labels: np.ndarray) -> pd.DataFrame:
    layer = graph.layer
    return pd.DataFrame(
        {
            "layer": layer.astype(np.int64),
            "layer_name": np.asarray(graph.layer_names, dtype=object)[layer] if len(layer) else [],
            "unit": graph.unit.astype(np.int64),
            "label": np.asarray(labels, dtype=np.int64),
        }
    )


def write_cluster_labels(graph: BlockGraph, labels: np.ndarray, summary: dict, path: str | os.PathLike) -> None:
    """Write the labels table with ``summary`` in its metadata, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(labels_frame(graph, labels), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_SUMMARY_KEY] = json.dumps(summary, sort_keys=True).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_cluster_summary(path: str | os.PathLike) -> dict:
    """The summary dict (``ncut, n_nodes, k, n_init, seed``) of a labels table."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"cluster labels {path} do not exist; run `nnstructure cluster GRAPH --out {path}`")
    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types
        raise ArtifactError(f"cannot read cluster labels {path}: {exc}. Delete it and rerun `nnstructure cluster`.") from exc
    if _SUMMARY_KEY not in meta:
        raise ArtifactError(f"{path} has no clustering summary; it was not written by `nnstructure cluster`. Delete it and rerun.")
    return json.loads(meta[_SUMMARY_KEY])
