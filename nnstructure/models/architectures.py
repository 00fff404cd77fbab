"""The networks of the thesis as flat ``torch.nn.Sequential`` models.

Every model is a flat ``nn.Sequential`` made only of ``Linear``, ``Conv2d``,
``BatchNorm2d``, ``BatchNorm1d``, ``ReLU``, ``MaxPool2d``, ``Flatten`` and
``Dropout`` modules, so the graph code can walk it layer by layer. A model is
described by a JSON-serialisable *spec* dict, stored in every checkpoint, from
which :func:`build_model` rebuilds it:

* ``arch``: ``"mlp"``, ``"cnn"``, ``"vgg"`` or ``"reward"`` (chapter 5; its spec keys are
  documented in :mod:`nnstructure.models.reward`);
* ``input_shape``: the shape of one input, ``[C, H, W]`` for images or ``[D]``;
* ``n_outputs``: number of classes (or regression targets);
* ``widths`` (MLP only): hidden layer widths, default ``[256] * 4`` (thesis 3.3);
* ``dropout``: 0 for none. MLP: rate after every hidden ReLU. CNN and VGG: any
  value > 0 switches on their fixed per-layer rates (thesis 3.4).

Initialisation follows Keras: Glorot-uniform kernels, zero biases, batch-norm
gamma 1 and beta 0 (:func:`nnstructure.models.init.keras_init_`). Batch norm uses Keras' defaults
(momentum 0.99, i.e. torch ``momentum=0.01``, and ``eps=1e-3``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nnstructure.models.init import keras_init_
from nnstructure.train.config import DEFAULT_MLP_WIDTHS

ARCHS = ("mlp", "cnn", "vgg", "reward", "imagenet")
#: Architectures the training loop builds from a spec (the workflow's trained network sets).
TRAINABLE_ARCHS = ("mlp", "cnn", "vgg")

# Keras BatchNormalization defaults expressed in torch's convention.
_BN_KW = {"momentum": 0.01, "eps": 1e-3}

# VGG-16 for CIFAR-10 as in Liu & Deng (2015) / the Keras "cifar10vgg" model:
# (channels, dropout after the conv's BatchNorm) per conv, "M" = 2x2 max-pool.
_VGG16_CONVS: list[Any] = [
    (64, 0.3), (64, None), "M",
    (128, 0.4), (128, None), "M",
    (256, 0.4), (256, 0.4), (256, None), "M",
    (512, 0.4), (512, 0.4), (512, None), "M",
    (512, 0.4), (512, 0.4), (512, None), "M",
]


def kernel_layers(model: nn.Module) -> list[nn.Module]:
    """The Linear and Conv2d layers of ``model`` in order (the ones pruned and regularised)."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def n_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def validate_spec(spec: dict) -> dict:
    """Check ``spec`` and return a normalised copy (lists instead of tuples, defaults filled in)."""
    if not isinstance(spec, dict):
        raise ValueError(f"model spec must be a dict, got {type(spec).__name__}")
    arch = spec.get("arch")
    if arch not in ARCHS:
        raise ValueError(f"model spec 'arch' must be one of {ARCHS}, got {arch!r}")
    for key in ("input_shape", "n_outputs"):
        if key not in spec:
            raise ValueError(f"model spec is missing {key!r} (spec: {spec})")
    if arch == "reward":
        from nnstructure.models.reward import validate_reward_spec

        return validate_reward_spec(spec)
    if arch == "imagenet":
        from nnstructure.imagenet.names import IMAGENET_ARCHS

        if spec.get("name") not in IMAGENET_ARCHS:
            raise ValueError(f"an imagenet model spec needs 'name', one of {IMAGENET_ARCHS}; got {spec.get('name')!r}")
        return {**spec, "input_shape": [int(s) for s in spec["input_shape"]], "n_outputs": int(spec["n_outputs"])}
    out = dict(spec)
    out["input_shape"] = [int(s) for s in spec["input_shape"]]
    out["n_outputs"] = int(spec["n_outputs"])
    out["dropout"] = float(spec.get("dropout", 0.0) or 0.0)
    if not 0.0 <= out["dropout"] < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {out['dropout']}")
    if arch == "mlp":
        out["widths"] = [int(w) for w in spec.get("widths") or DEFAULT_MLP_WIDTHS]
    elif len(out["input_shape"]) != 3:
        raise ValueError(f"arch {arch!r} needs image inputs of shape [C, H, W], got {out['input_shape']}")
    return out


def build_model(spec: dict, seed: int | None = None) -> nn.Sequential:
    """Build the network described by ``spec`` with Keras initialisation.

    With ``seed`` the initial weights come from a private generator seeded with
    it (the global torch RNG is left untouched); otherwise from the global RNG.
    """
    spec = validate_spec(spec)
    if spec["arch"] == "imagenet":  # torchvision-layout ImageNet networks (weights come from a checkpoint)
        from nnstructure.imagenet.models import build_imagenet_model

        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            return build_imagenet_model(spec["name"], **spec.get("kwargs", {}))
    if spec["arch"] == "reward":
        from nnstructure.models.reward import build_reward_net

        return build_reward_net(spec, None if seed is None else torch.Generator().manual_seed(int(seed)))
    builder = {"mlp": _mlp, "cnn": _small_cnn, "vgg": _vgg16}[spec["arch"]]
    if seed is None:
        return keras_init_(builder(spec))
    with torch.random.fork_rng(devices=[]):  # torch's own layer init draws from the global RNG
        model = builder(spec)
    return keras_init_(model, torch.Generator().manual_seed(int(seed)))


def _mlp(spec: dict) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = math.prod(spec["input_shape"])
    for width in spec["widths"]:
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        if spec["dropout"] > 0:
            layers.append(nn.Dropout(spec["dropout"]))
        fan_in = width
    layers.append(nn.Linear(fan_in, spec["n_outputs"]))
    return nn.Sequential(*layers)


def _small_cnn(spec: dict) -> nn.Sequential:
    """Thesis 3.4: three 3x3 'same' convs of 64 channels, 2x2 max-pool after the 2nd and 3rd, dense 128.

    With dropout, as in the thesis code (``src/train_nn.py``, ``create_cnn_layers``):
    ``Dropout(0.25)`` after every conv layer (after its pooling, if any) and
    ``Dropout(0.5)`` after the dense layer.
    """
    c, h, w = spec["input_shape"]
    drop = spec["dropout"] > 0
    layers: list[nn.Module] = []
    for i, pool in enumerate((False, True, True)):
        layers += [nn.Conv2d(c if i == 0 else 64, 64, 3, padding=1), nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2))
        if drop:
            layers.append(nn.Dropout(0.25))
    layers += [nn.Flatten(), nn.Linear(64 * (h // 2 // 2) * (w // 2 // 2), 128), nn.ReLU()]
    if drop:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Linear(128, spec["n_outputs"]))
    return nn.Sequential(*layers)


def _vgg16(spec: dict) -> nn.Sequential:
    """VGG-16 of Liu & Deng (2015): conv -> ReLU -> BatchNorm (-> Dropout), Keras cifar10vgg order."""
    c, h, w = spec["input_shape"]
    drop = spec["dropout"] > 0
    layers: list[nn.Module] = []
    for item in _VGG16_CONVS:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
            continue
        channels, rate = item
        layers += [nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(channels, **_BN_KW)]
        if drop and rate:
            layers.append(nn.Dropout(rate))
        c = channels
    if h < 1 or w < 1:
        raise ValueError(f"VGG-16 needs inputs of at least 32x32 pixels, got {spec['input_shape']}")
    if drop:
        layers.append(nn.Dropout(0.5))
    layers += [nn.Flatten(), nn.Linear(c * h * w, 512), nn.ReLU(), nn.BatchNorm1d(512, **_BN_KW)]
    if drop:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Linear(512, spec["n_outputs"]))
    return nn.Sequential(*layers)


def model_spec(arch: str, input_shape, n_outputs: int, widths=None, dropout: float = 0.0) -> dict:
    """A validated spec for ``arch`` on inputs of ``input_shape`` (e.g. ``dataset.input_shape``)."""
    spec: dict[str, Any] = {"arch": arch, "input_shape": list(input_shape), "n_outputs": int(n_outputs), "dropout": float(dropout)}
    if arch == "mlp":
        spec["widths"] = list(widths) if widths else list(DEFAULT_MLP_WIDTHS)
    elif widths:
        raise ValueError(f"widths only apply to arch 'mlp', not {arch!r}")
    return validate_spec(spec)
