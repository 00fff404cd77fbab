"""ImageNet networks of thesis Table A.7: torchvision-compatible models, weight files, weight graphs.

Attributes are imported on first use, so finding weight files (the workflow does,
at every start) does not import torch.
"""

from nnstructure.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "names": ("IMAGENET_ARCHS", "TORCHVISION_WEIGHT_FILES"),
    "graph": ("KERNEL_NORMS", "imagenet_weight_graph", "kernel_slice_norms"),
    "models": ("build_imagenet_model",),
    "weights": ("find_imagenet_weights", "imagenet_weight_candidates", "load_imagenet_state_dict", "load_imagenet_weights",
                "missing_weights_message"),
})
