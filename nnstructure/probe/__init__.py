"""Linear probes on space-pooled hidden layers (thesis 5.7, 5.9): cached features, Adam and exact fits.

Names are imported on first use, so building the command-line parser (which
imports ``nnstructure.probe.cli``) does not import torch.
"""

from nnstructure.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "features": ("FeatureCache", "load_feature_cache", "pooled_features", "pooled_layer_outputs", "write_feature_cache"),
    "fit": ("ProbeFit", "Standardization", "adam_converged", "adam_to_closed_form", "fit_adam_probe",
            "fit_closed_form_probe", "fit_converged_adam_probe", "mean_guess_loss"),
    "run": ("adam_columns", "probe_row", "split_masks"),
    "schedule": ("CONVERGED_RATIO", "LR_SWEEP", "MAX_EPOCHS", "TRAIN_TOL", "thesis_probe_epochs"),
    "targets": ("TARGETS", "coin_visible_mask", "get_target", "target_values"),
})
