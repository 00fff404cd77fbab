"""ImageNet networks of thesis Table A.7: torchvision-compatible models, weight files, weight graphs."""

from nnstructure.imagenet.graph import KERNEL_NORMS, imagenet_weight_graph, kernel_slice_norms
from nnstructure.imagenet.models import IMAGENET_ARCHS, build_imagenet_model
from nnstructure.imagenet.weights import (
    TORCHVISION_WEIGHT_FILES,
    find_imagenet_weights,
    imagenet_weight_candidates,
    load_imagenet_state_dict,
    load_imagenet_weights,
    missing_weights_message,
)

__all__ = [
    "IMAGENET_ARCHS",
    "KERNEL_NORMS",
    "TORCHVISION_WEIGHT_FILES",
    "build_imagenet_model",
    "find_imagenet_weights",
    "imagenet_weight_candidates",
    "imagenet_weight_graph",
    "kernel_slice_norms",
    "load_imagenet_state_dict",
    "load_imagenet_weights",
    "missing_weights_message",
]
