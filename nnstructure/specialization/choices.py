"""The names a chapter-4 step accepts (no heavy imports, so the CLI can list them quickly)."""

PARTITIONINGS = ("weight-network", "weight-layer", "act-network", "act-layer")
# Thesis wording of each partitioning (table rows).
PARTITIONING_LABELS = {
    "weight-network": "Weight/Network",
    "weight-layer": "Weight/Layer",
    "act-network": "Act./Network",
    "act-layer": "Act./Layer",
}
PROXIES = ("lesion", "visualization")
# Random subclusters drawn among all units of the layer (thesis) or among those with edges (original lesions).
RANDOM_POOLS = ("all", "with-edges")
VIS_METHODS = ("thesis", "original")
PARAMETERIZATIONS = ("pixel", "fourier")
TRANSFORMS = ("jitter-scale", "lucid-standard", "none")
OBJECTIVES = ("l1", "abs-mean")
# The original code took 5000 random training examples for the activation graph.
DEFAULT_VALIDATION_SIZE = 5000
