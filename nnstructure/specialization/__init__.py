"""Chapter 4: importance and coherence of subclusters (partitions, lesions, feature visualisation, statistics).

Names are imported on first use (PEP 562), so ``import nnstructure.specialization.statistics``
or the CLI's start-up does not import torch.
"""

from nnstructure.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "choices": ("PARTITIONINGS", "PARTITIONING_LABELS", "PROXIES", "RANDOM_POOLS", "VIS_METHODS"),
    "evaluate": ("evaluate_partition",),
    "lesion": ("class_correct", "lesion_class_correct", "lesion_class_correct_naive", "lesion_metrics", "lesioned_copy",
               "unit_outputs"),
    "partition": ("Partition", "partition_network", "read_partition", "validation_inputs", "write_partition"),
    "statistics": ("METRICS", "combined_statistics", "network_statistics", "specialization_statistics", "subcluster_percentiles"),
    "subclusters": ("Subcluster", "random_subclusters", "true_subclusters"),
    "visualization": ("VisualizationSettings", "visualize_subclusters"),
})
