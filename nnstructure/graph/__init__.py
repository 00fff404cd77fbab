"""Networks as layered weighted graphs: building, storing and subsetting them."""

from nnstructure.graph.blocks import Block, BlockGraph, assemble_adjacency
from nnstructure.graph.storage import load_graph, save_graph
from nnstructure.graph.subgraph import drop_isolated_nodes, induced_subgraph, node_degrees
from nnstructure.graph.kernel_norms import KERNEL_NORMS, kernel_slice_norms
from nnstructure.graph.weights import weight_graph

__all__ = [
    "Block",
    "BlockGraph",
    "KERNEL_NORMS",
    "assemble_adjacency",
    "drop_isolated_nodes",
    "induced_subgraph",
    "kernel_slice_norms",
    "load_graph",
    "node_degrees",
    "save_graph",
    "weight_graph",
]
