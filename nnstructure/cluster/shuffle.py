"""Shuffled copies of a network's graph: the null model of relative clusterability.

Thesis 3.2.3 and 3.3.5, original code ``shuffle_weights`` / ``shuffle_weights_nonzero``:

* ``"layer"`` permutes every entry of each block (each weight matrix, or for a
  CNN each matrix of channel-to-channel edge weights), zeros included, so the
  per-layer weight distribution is kept and the sparsity pattern is not;
* ``"nonzero"`` permutes only the nonzero entries among the nonzero positions,
  keeping the topology (which nodes are connected) exactly.
"""

from __future__ import annotations

import numpy as np

from nnstructure.graph.blocks import Block, BlockGraph

SHUFFLE_KINDS = ("layer", "nonzero")


def shuffle_block(weights: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A permuted copy of one block's weight matrix."""
    if kind == "layer":
        return rng.permutation(weights.ravel()).reshape(weights.shape)
    if kind == "nonzero":
        flat = weights.ravel()
        where = np.flatnonzero(flat)
        out = np.zeros_like(flat)
        out[where] = flat[where[rng.permutation(where.size)]]
        return out.reshape(weights.shape)
    raise ValueError(f"unknown shuffle kind {kind!r}; choose one of {', '.join(SHUFFLE_KINDS)}")


def shuffle_layer_weights(graph: BlockGraph, kind: str, rng: np.random.Generator) -> BlockGraph:
    """``graph`` with every block shuffled independently (``kind``: ``"layer"`` or ``"nonzero"``)."""
    if kind not in SHUFFLE_KINDS:
        raise ValueError(f"unknown shuffle kind {kind!r}; choose one of {', '.join(SHUFFLE_KINDS)}")
    blocks = [Block(b.src, b.dst, shuffle_block(b.weights, kind, rng)) for b in graph.blocks]
    return graph.with_blocks(blocks, shuffle=kind)
