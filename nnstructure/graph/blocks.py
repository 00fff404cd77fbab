"""The layered, block-structured graph every network is turned into.

A network's graph has its nodes grouped into *layers* (MLP layers including the
inputs and outputs, or convolutional layers' channels) and its edges grouped
into *blocks*: one non-negative matrix of edge weights per pair of connected
layers. For an MLP or a plain CNN the blocks join adjacent layers; for a ResNet
a block may join non-adjacent node groups. Shuffles permute entries within a
block, so keeping the blocks (not only the assembled adjacency) is what makes
the topology-preserving and layer shuffles of the thesis possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.sparse as sp


@dataclass
class Block:
    """Edges from layer ``src`` (rows) to layer ``dst`` (columns)."""

    src: int
    dst: int
    weights: np.ndarray  # non-negative, shape (layer_sizes[src], layer_sizes[dst])

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.weights.ndim != 2:
            raise ValueError(f"block {self.src}->{self.dst} must be a 2-D matrix, got shape {self.weights.shape}")
        if np.any(self.weights < 0) or not np.all(np.isfinite(self.weights)):
            raise ValueError(f"block {self.src}->{self.dst} has negative or non-finite edge weights")


@dataclass
class BlockGraph:
    """A weighted undirected graph made of per-layer node groups and edge blocks."""

    layer_names: list[str]
    layer_sizes: list[int]
    blocks: list[Block]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.layer_names) != len(self.layer_sizes):
            raise ValueError("layer_names and layer_sizes differ in length")
        for b in self.blocks:
            expected = (self.layer_sizes[b.src], self.layer_sizes[b.dst])
            if b.weights.shape != expected:
                raise ValueError(
                    f"block {b.src}->{b.dst} ({self.layer_names[b.src]} -> {self.layer_names[b.dst]}) "
                    f"has shape {b.weights.shape}, expected {expected}"
                )

    @property
    def offsets(self) -> np.ndarray:
        """Index of each layer's first node; ``offsets[-1]`` is the node count."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def n_nodes(self) -> int:
        return int(sum(self.layer_sizes))

    @property
    def layer(self) -> np.ndarray:
        """Layer index of every node."""
        return np.repeat(np.arange(len(self.layer_sizes)), self.layer_sizes)

    @property
    def unit(self) -> np.ndarray:
        """Index of every node within its layer."""
        return np.concatenate([np.arange(n) for n in self.layer_sizes]) if self.layer_sizes else np.zeros(0, int)

    def node_index(self, layer: int, unit: int) -> int:
        """Global node index of ``unit`` in ``layer``."""
        if not 0 <= unit < self.layer_sizes[layer]:
            raise IndexError(f"layer {layer} has {self.layer_sizes[layer]} units, no unit {unit}")
        return int(self.offsets[layer] + unit)

    @property
    def adjacency(self) -> sp.csr_matrix:
        """Symmetric non-negative adjacency matrix (CSR) of the whole graph."""
        return assemble_adjacency(self.layer_sizes, self.blocks)

    def with_blocks(self, blocks: Sequence[Block], **meta) -> "BlockGraph":
        """A graph with the same nodes and new edge blocks (e.g. a shuffle)."""
        return BlockGraph(list(self.layer_names), list(self.layer_sizes), list(blocks), {**self.meta, **meta})


def assemble_adjacency(layer_sizes: Sequence[int], blocks: Sequence[Block]) -> sp.csr_matrix:
    offsets = np.concatenate([[0], np.cumsum(layer_sizes)]).astype(np.int64)
    n = int(offsets[-1])
    rows, cols, vals = [], [], []
    for b in blocks:
        r, c = np.nonzero(b.weights)
        v = b.weights[r, c]
        r = r + offsets[b.src]
        c = c + offsets[b.dst]
        rows += [r, c]
        cols += [c, r]
        vals += [v, v]
    if not rows:
        return sp.csr_matrix((n, n))
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return a.tocsr()  # duplicate entries (parallel blocks) are summed
