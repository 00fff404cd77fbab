"""Node subsets of a :class:`BlockGraph`: dropping zero-degree (pruned-away) nodes."""

from __future__ import annotations

import numpy as np

from nnstructure.graph.blocks import Block, BlockGraph


def node_degrees(graph: BlockGraph) -> np.ndarray:
    """Weighted degree of every node, straight from the blocks."""
    deg = np.zeros(graph.n_nodes)
    off = graph.offsets
    for b in graph.blocks:
        deg[off[b.src] : off[b.src + 1]] += b.weights.sum(axis=1)
        deg[off[b.dst] : off[b.dst + 1]] += b.weights.sum(axis=0)
    return deg


def induced_subgraph(graph: BlockGraph, keep: np.ndarray) -> BlockGraph:
    """The graph on the nodes where boolean ``keep`` is true (layers may become empty).

    ``meta["node_ids"]`` maps every kept node to its index in the *original*
    graph (composing with any earlier subgraph's ``node_ids``).
    """
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (graph.n_nodes,):
        raise ValueError(f"keep mask has shape {keep.shape}, the graph has {graph.n_nodes} nodes")
    off = graph.offsets
    masks = [keep[off[i] : off[i + 1]] for i in range(len(graph.layer_sizes))]
    blocks = [Block(b.src, b.dst, b.weights[masks[b.src]][:, masks[b.dst]]) for b in graph.blocks]
    ids = np.asarray(graph.meta.get("node_ids", np.arange(graph.n_nodes)))[keep]
    return BlockGraph(list(graph.layer_names), [int(m.sum()) for m in masks], blocks, {**graph.meta, "node_ids": ids})


def drop_isolated_nodes(graph: BlockGraph) -> tuple[BlockGraph, np.ndarray]:
    """``(subgraph without zero-degree nodes, boolean mask of kept nodes)``."""
    keep = node_degrees(graph) > 0
    if keep.all():
        return graph, keep
    return induced_subgraph(graph, keep), keep
