"""ImageNet networks of thesis Table A.7: torchvision-compatible models, weight files, weight graphs.

Attributes are imported on first use, so finding weight files (the workflow does,
at every start) does not import torch.
"""

import importlib

_EXPORTS = {
    "IMAGENET_ARCHS": "nnstructure.imagenet.names",
    "TORCHVISION_WEIGHT_FILES": "nnstructure.imagenet.names",
    "KERNEL_NORMS": "nnstructure.imagenet.graph",
    "imagenet_weight_graph": "nnstructure.imagenet.graph",
    "kernel_slice_norms": "nnstructure.imagenet.graph",
    "build_imagenet_model": "nnstructure.imagenet.models",
    "find_imagenet_weights": "nnstructure.imagenet.weights",
    "imagenet_weight_candidates": "nnstructure.imagenet.weights",
    "load_imagenet_state_dict": "nnstructure.imagenet.weights",
    "load_imagenet_weights": "nnstructure.imagenet.weights",
    "missing_weights_message": "nnstructure.imagenet.weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nnstructure.imagenet' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
