"""Network architectures (MLP, small CNN, VGG-16) as flat ``nn.Sequential`` models."""

from nnstructure.models.architectures import (
    ARCHS,
    build_model,
    keras_init_,
    kernel_layers,
    model_spec,
    n_parameters,
    validate_spec,
)

__all__ = ["ARCHS", "build_model", "keras_init_", "kernel_layers", "model_spec", "n_parameters", "validate_spec"]
