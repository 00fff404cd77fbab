"""Linear probes on space-pooled hidden layers (thesis 5.7, 5.9): cached features, Adam and exact fits."""

from nnstructure.probe.features import (
    FeatureCache,
    load_feature_cache,
    pooled_features,
    pooled_layer_outputs,
    write_feature_cache,
)
from nnstructure.probe.fit import ProbeFit, fit_adam_probe, fit_closed_form_probe, mean_guess_loss
from nnstructure.probe.run import probe_row, split_masks
from nnstructure.probe.schedule import thesis_probe_epochs
from nnstructure.probe.targets import TARGETS, coin_visible_mask, get_target, target_values

__all__ = [
    "FeatureCache", "load_feature_cache", "pooled_features", "pooled_layer_outputs", "write_feature_cache",
    "ProbeFit", "fit_adam_probe", "fit_closed_form_probe", "mean_guess_loss", "probe_row", "split_masks",
    "thesis_probe_epochs", "TARGETS", "coin_visible_mask", "get_target", "target_values",
]
