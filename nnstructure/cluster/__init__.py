"""Spectral clustering, n-cut, shuffles and relative clusterability (thesis chapter 3)."""

from nnstructure.cluster.clustering import cluster_graph
from nnstructure.cluster.labels_table import labels_frame, read_cluster_summary, write_cluster_labels
from nnstructure.cluster.layerwise import LAYER_SCOPES, clusters_per_layer, layerwise_clustering
from nnstructure.cluster.ncut import cluster_cut_and_volume, ncut
from nnstructure.cluster.relative import (
    relative_clusterability,
    relative_clusterability_stats,
    shuffle_table,
    shuffled_adjacency,
    shuffled_ncuts,
)
from nnstructure.cluster.shuffle import SHUFFLE_KINDS, shuffle_layer_weights
from nnstructure.cluster.spectral import (
    kmeans_labels,
    resolve_n_init,
    spectral_clustering,
    spectral_embedding,
    spectral_embeddings_dense,
)

__all__ = [
    "LAYER_SCOPES",
    "SHUFFLE_KINDS",
    "cluster_graph",
    "clusters_per_layer",
    "cluster_cut_and_volume",
    "kmeans_labels",
    "labels_frame",
    "layerwise_clustering",
    "ncut",
    "read_cluster_summary",
    "relative_clusterability",
    "relative_clusterability_stats",
    "resolve_n_init",
    "shuffle_layer_weights",
    "shuffle_table",
    "shuffled_adjacency",
    "shuffled_ncuts",
    "spectral_clustering",
    "spectral_embedding",
    "spectral_embeddings_dense",
    "write_cluster_labels",
]
