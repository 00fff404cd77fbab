"""The reward net of thesis 5.3: five 3x3 'same' convolutions, spatial average, linear head.

spec (registered as arch ``"reward"`` in :func:`nnstructure.models.build_model`)::

    {"arch": "reward", "input_shape": [C, H, W], "n_outputs": N,
     "channels": [96, 256, 384, 384, 256], "width_multiplier": 1.0, "init": "torch"}

* ``C`` = 6 for procgen transitions (observation RGB then next-observation RGB),
  3 for single images (dots and distances); ``N`` = 15 for procgen, one predicted
  reward per action (the reward of a transition is the output of the action taken).
* Layers: ``[Conv2d(3x3, stride 1, padding 1), ReLU] x 5`` with
  ``round(channels[i] * width_multiplier)`` channels, no pooling or dropout, then
  ``AdaptiveAvgPool2d(1)``, ``Flatten``, ``Linear(channels[-1] -> N)``, as the
  original code's ``imitation.rewards.reward_nets.CnnRewardNet`` (``build_cnn``).
  The average and the linear head are computed in float32 even under bf16 autocast
  (:class:`~nnstructure.train.precision.Float32SpatialMean`, ``Float32Linear``): in
  bfloat16 the average would round away the few pixels that tell a rewarded transition.
* ``init``: ``"torch"`` (PyTorch's default layer initialisation, which the
  original PyTorch code used; the default) or ``"glorot"`` (Keras-style
  Glorot-uniform kernels and zero biases, as the chapter-3 networks). The thesis
  text does not say.
* Inputs are floats in [0, 1]: uint8 frames divided by 255 (:func:`transition_inputs`).

"Layer i" (thesis 5.7, probes) is the output of the i-th ReLU, i = 0..4
(:func:`reward_layer_outputs`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nnstructure.models.init import keras_init_
from nnstructure.train.precision import Float32Linear, Float32SpatialMean

REWARD_CHANNELS: tuple[int, ...] = (96, 256, 384, 384, 256)
REWARD_INITS: tuple[str, ...] = ("torch", "glorot")
N_PROCGEN_ACTIONS = 15


def validate_reward_spec(spec: dict) -> dict:
    """Check a reward-net spec and return a normalised copy with the defaults filled in."""
    out = dict(spec)
    shape = [int(s) for s in spec["input_shape"]]
    if len(shape) != 3:
        raise ValueError(f"arch 'reward' needs image inputs of shape [C, H, W], got {spec['input_shape']}")
    out["input_shape"] = shape
    out["n_outputs"] = int(spec["n_outputs"])
    if out["n_outputs"] < 1:
        raise ValueError(f"arch 'reward' needs n_outputs >= 1, got {out['n_outputs']}")
    out["channels"] = [int(c) for c in (spec.get("channels") or REWARD_CHANNELS)]
    if not out["channels"] or min(out["channels"]) < 1:
        raise ValueError(f"reward-net 'channels' must be positive integers, got {spec.get('channels')}")
    out["width_multiplier"] = float(spec.get("width_multiplier", 1.0))
    if not out["width_multiplier"] > 0:
        raise ValueError(f"reward-net 'width_multiplier' must be > 0, got {out['width_multiplier']}")
    out["init"] = str(spec.get("init", "torch"))
    if out["init"] not in REWARD_INITS:
        raise ValueError(f"reward-net 'init' must be one of {REWARD_INITS} ('torch': the original code), got {out['init']!r}")
    out["dropout"] = float(spec.get("dropout", 0.0) or 0.0)
    if out["dropout"] != 0.0:
        raise ValueError("arch 'reward' has no dropout (thesis 5.3); remove 'dropout' from the spec or set it to 0")
    return out


def reward_channels(spec: dict) -> list[int]:
    """The hidden channel counts after the width multiplier (each at least 1)."""
    return [max(1, round(c * spec["width_multiplier"])) for c in spec["channels"]]


def channels_text(spec: dict) -> str:
    """The convolutions' channels as built, ``"12-32-48-48-32"`` (width x1/8 of the thesis's), for results rows."""
    return "-".join(str(c) for c in reward_channels(spec))


def build_reward_net(spec: dict, generator: torch.Generator | None = None) -> nn.Sequential:
    """The reward net of a validated spec, initialised from ``generator`` (or torch's global RNG)."""
    channels = reward_channels(spec)
    layers: list[nn.Module] = []
    fan_in = spec["input_shape"][0]
    # Layer constructors draw from the global RNG; with a generator, leave that RNG untouched.
    with torch.random.fork_rng(devices=[], enabled=generator is not None):
        for width in channels:
            layers += [nn.Conv2d(fan_in, width, 3, stride=1, padding=1), nn.ReLU()]
            fan_in = width
        # the average and the head in float32 even under bf16 autocast (nnstructure.train.precision)
        layers += [Float32SpatialMean(1), nn.Flatten(), Float32Linear(fan_in, spec["n_outputs"])]
    model = nn.Sequential(*layers)
    if spec["init"] == "glorot":
        return keras_init_(model, generator)
    return torch_default_init_(model, generator)


def torch_default_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """PyTorch's default Conv2d/Linear initialisation (``reset_parameters``) drawn from ``generator``.

    Kernels: Kaiming-uniform with ``a = sqrt(5)``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
    return model


def reward_net_spec(input_shape=(6, 64, 64), n_outputs: int = N_PROCGEN_ACTIONS, width_multiplier: float = 1.0,
                    channels=REWARD_CHANNELS, init: str = "torch") -> dict:
    """A validated reward-net spec (defaults: procgen transitions, 15 actions, the thesis's widths)."""
    return validate_reward_spec({
        "arch": "reward", "input_shape": list(input_shape), "n_outputs": int(n_outputs),
        "channels": list(channels), "width_multiplier": float(width_multiplier), "init": init,
    })


def relu_indices(model: nn.Sequential) -> list[int]:
    """Positions of the ReLU modules in a flat reward net (layer i = the i-th of them)."""
    return [i for i, m in enumerate(model) if isinstance(m, nn.ReLU)]


def reward_layer_outputs(model: nn.Sequential, x: torch.Tensor, layers) -> dict[int, torch.Tensor]:
    """Activations ``{i: output of the i-th ReLU}`` for the requested ``layers`` (thesis 5.7 numbering).

    Layer 0 is the first convolution after its ReLU; the forward pass stops at the
    deepest requested layer. ``x`` is the float network input ([B, C, H, W] in [0, 1]).
    """
    positions = relu_indices(model)
    layers = sorted({int(i) for i in layers})
    if not layers:
        raise ValueError("reward_layer_outputs needs at least one layer index")
    if layers[0] < 0 or layers[-1] >= len(positions):
        raise ValueError(f"layer indices must be in 0..{len(positions) - 1} for this network, got {layers}")
    wanted = {positions[i]: i for i in layers}
    out: dict[int, torch.Tensor] = {}
    h = x
    for pos, module in enumerate(model):
        h = module(h)
        if pos in wanted:
            out[wanted[pos]] = h
            if pos == positions[layers[-1]]:
                break
    return out


def transition_inputs(obs: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """Network input [B, 6, H, W] in [0, 1] from observation and next observation.

    uint8 frames ([B, 3, H, W], 0..255) are divided by 255; float frames are taken
    to be in [0, 1] already and used as they are.
    """
    if obs.shape != next_obs.shape:
        raise ValueError(f"observation {tuple(obs.shape)} and next observation {tuple(next_obs.shape)} differ in shape")
    x = torch.cat([obs, next_obs], dim=1)
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def taken_action_output(outputs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """The predicted reward of each transition: ``outputs[b, action[b]]``."""
    if outputs.dim() != 2 or action.shape != outputs.shape[:1]:
        raise ValueError(f"outputs must be [B, n_actions] and action [B]; got {tuple(outputs.shape)} and {tuple(action.shape)}")
    return outputs.gather(1, action.long().view(-1, 1)).squeeze(1)


def predict_rewards(model: nn.Module, obs: torch.Tensor, next_obs: torch.Tensor, action: torch.Tensor | None = None,
                    batch_size: int = 256, precision: str = "fp32") -> torch.Tensor:
    """Predicted rewards of transitions, in eval mode without gradients, batch by batch.

    Returns ``[B]`` (the taken action's output) when ``action`` is given, else all
    outputs ``[B, n_actions]`` (float32). Inputs may be uint8 frames or floats in [0, 1];
    they are moved to the model's device batch by batch. ``precision`` ``"bf16"``
    runs the forward passes under bfloat16 autocast (:mod:`nnstructure.train.precision`).
    """
    from nnstructure.train.precision import autocast

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(obs), batch_size):
            sl = slice(start, start + batch_size)
            with autocast(device, precision):
                out = model(transition_inputs(obs[sl].to(device), next_obs[sl].to(device))).float()
            if action is not None:
                out = taken_action_output(out, action[sl].to(device))
            chunks.append(out.cpu())
    model.train(was_training)
    if not chunks:
        n_out = model[-1].out_features
        return torch.zeros(0) if action is not None else torch.zeros(0, n_out)
    return torch.cat(chunks)
