"""Network architectures (MLP, small CNN, VGG-16, chapter 5's reward net) as flat ``nn.Sequential`` models."""

from nnstructure.models.architectures import (
    ARCHS,
    build_model,
    kernel_layers,
    model_spec,
    n_parameters,
    validate_spec,
)
from nnstructure.models.init import keras_init_
from nnstructure.models.reward import (
    predict_rewards,
    reward_layer_outputs,
    reward_net_spec,
    taken_action_output,
    transition_inputs,
)

__all__ = [
    "ARCHS", "build_model", "keras_init_", "kernel_layers", "model_spec", "n_parameters", "validate_spec",
    "predict_rewards", "reward_layer_outputs", "reward_net_spec", "taken_action_output", "transition_inputs",
]
