"""Linear probes on space-pooled hidden layers (thesis 5.7, 5.9): cached features, Adam and exact fits.

Attributes are imported on first use, so building the command-line parser (which
imports ``nnstructure.probe.cli``) does not import torch.
"""

import importlib

_EXPORTS = {
    **dict.fromkeys(["FeatureCache", "load_feature_cache", "pooled_features", "pooled_layer_outputs",
                     "write_feature_cache"], "nnstructure.probe.features"),
    **dict.fromkeys(["ProbeFit", "fit_adam_probe", "fit_closed_form_probe", "mean_guess_loss"], "nnstructure.probe.fit"),
    **dict.fromkeys(["probe_row", "split_masks"], "nnstructure.probe.run"),
    "thesis_probe_epochs": "nnstructure.probe.schedule",
    **dict.fromkeys(["TARGETS", "coin_visible_mask", "get_target", "target_values"], "nnstructure.probe.targets"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nnstructure.probe' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
