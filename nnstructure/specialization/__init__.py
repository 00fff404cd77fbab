"""Chapter 4: importance and coherence of subclusters (partitions, lesions, feature visualisation, statistics).

Names are imported on first use (PEP 562), so ``import nnstructure.specialization.statistics``
or the CLI's start-up does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "choices": ("PARTITIONINGS", "PARTITIONING_LABELS", "PROXIES", "RANDOM_POOLS", "VIS_METHODS"),
    "evaluate": ("evaluate_partition",),
    "lesion": ("class_correct", "lesion_class_correct", "lesion_class_correct_naive", "lesion_metrics", "lesioned_copy"),
    "partition": ("Partition", "partition_network", "read_partition", "validation_inputs", "write_partition"),
    "statistics": ("METRICS", "combined_statistics", "network_statistics", "specialization_statistics", "subcluster_percentiles"),
    "subclusters": ("Subcluster", "random_subclusters", "true_subclusters"),
    "visualization": ("VisualizationSettings", "visualize_subclusters"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'nnstructure.specialization' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nnstructure.specialization.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
