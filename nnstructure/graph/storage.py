"""Save and load a :class:`BlockGraph` as one ``.npz`` file.

Each block is stored sparsely (row, column, value of its nonzero entries), so a
pruned network's graph stays small; zeros are restored exactly on load. The
metadata dict is stored as JSON.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from nnstructure.graph.blocks import Block, BlockGraph
from nnstructure.io import ArtifactError, atomic_path, json_default

_FORMAT = "nnstructure.blockgraph/1"


def save_graph(graph: BlockGraph, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path`` (``.npz``) atomically."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(_FORMAT),
        "layer_names": np.array(graph.layer_names, dtype=str),
        "layer_sizes": np.asarray(graph.layer_sizes, dtype=np.int64),
        "block_ends": np.array([[b.src, b.dst] for b in graph.blocks], dtype=np.int64).reshape(-1, 2),
        "meta": np.array(json.dumps(graph.meta, sort_keys=True, default=json_default)),
    }
    for i, b in enumerate(graph.blocks):
        r, c = np.nonzero(b.weights)
        arrays[f"block{i}_rows"] = r.astype(np.int32)
        arrays[f"block{i}_cols"] = c.astype(np.int32)
        arrays[f"block{i}_vals"] = b.weights[r, c]
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_graph(path: str | os.PathLike) -> BlockGraph:
    """Read a graph written by :func:`save_graph`; a missing or corrupt file raises ``ArtifactError``."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"graph file {path} does not exist; run `nnstructure graph CHECKPOINT --out {path}` to make it")
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != _FORMAT:
                raise ValueError(f"format {str(data['format'])!r}, expected {_FORMAT!r}")
            names = [str(n) for n in data["layer_names"]]
            sizes = [int(s) for s in data["layer_sizes"]]
            blocks = []
            for i, (src, dst) in enumerate(data["block_ends"]):
                w = np.zeros((sizes[src], sizes[dst]))
                w[data[f"block{i}_rows"], data[f"block{i}_cols"]] = data[f"block{i}_vals"]
                blocks.append(Block(int(src), int(dst), w))
            meta = json.loads(str(data["meta"]))
        return BlockGraph(names, sizes, blocks, meta)
    except (OSError, KeyError, ValueError, IndexError, zipfile.BadZipFile, EOFError) as exc:
        raise ArtifactError(f"cannot read graph file {path}: {exc}. Delete it and rerun the step that makes it.") from exc

