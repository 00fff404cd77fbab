"""Chapter 4: importance and coherence of subclusters (partitions, lesions, feature visualisation, statistics)."""

from nnstructure.specialization.evaluate import PROXIES, evaluate_partition
from nnstructure.specialization.lesion import (
    class_correct,
    lesion_class_correct,
    lesion_class_correct_naive,
    lesion_metrics,
    lesioned_copy,
)
from nnstructure.specialization.partition import (
    PARTITIONING_LABELS,
    PARTITIONINGS,
    Partition,
    partition_network,
    read_partition,
    validation_inputs,
    write_partition,
)
from nnstructure.specialization.statistics import (
    METRICS,
    combined_statistics,
    network_statistics,
    specialization_statistics,
    subcluster_percentiles,
)
from nnstructure.specialization.subclusters import RANDOM_POOLS, Subcluster, random_subclusters, true_subclusters
from nnstructure.specialization.visualization import VisualizationSettings, visualize_subclusters

__all__ = [
    "METRICS",
    "PARTITIONINGS",
    "PARTITIONING_LABELS",
    "PROXIES",
    "Partition",
    "RANDOM_POOLS",
    "Subcluster",
    "VisualizationSettings",
    "class_correct",
    "combined_statistics",
    "evaluate_partition",
    "lesion_class_correct",
    "lesion_class_correct_naive",
    "lesion_metrics",
    "lesioned_copy",
    "network_statistics",
    "partition_network",
    "random_subclusters",
    "read_partition",
    "specialization_statistics",
    "subcluster_percentiles",
    "true_subclusters",
    "validation_inputs",
    "visualize_subclusters",
    "write_partition",
]
