"""Training hyperparameters (defaults: the thesis's MLP settings, section 3.3)."""

from __future__ import annotations

import math
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from typing import Any

#: The thesis's MLP hidden widths (section 3.3): the ``widths`` setting's default. Here, torch-free, so the
#: workflow's params need no torch import (the model builders in nnstructure.models.architectures use it too).
DEFAULT_MLP_WIDTHS = (256, 256, 256, 256)


def _setting(default, help: str, schema: dict, *, applies: str | None = None, init: bool = False) -> Any:
    """A training setting: its default, help text, JSON-schema constraints and when it applies.

    This metadata is the single definition of every setting: the workflow's
    config schema, the ``nnstructure train`` options and the training jobs'
    params are all derived from it (:func:`setting_fields`).
    ``applies`` names the condition under which the setting changes a network
    (see :func:`applicable_settings`); ``init`` marks settings that change an
    untrained (randomly initialised) network too.
    """
    return field(default=default, metadata={"help": help, "schema": schema, "applies": applies, "init": init})


@dataclass
class TrainConfig:
    """Everything that determines a training run apart from data, model spec and seed.

    ``epochs`` unpruned epochs are followed by ``prune_epochs`` epochs of
    magnitude pruning on TF-MOT's PolynomialDecay schedule (``initial_sparsity``
    -> ``final_sparsity``, ``prune_power``, mask update every ``prune_frequency``
    steps). ``l1``/``l2`` are Keras kernel-regularizer coefficients. With
    ``clusterable_init`` hidden units get one of ``ci_groups`` tags and weights
    are scaled by ``ci_beta`` (``None``: 0.6 for MLPs, 0.8 for CNN/VGG, thesis
    3.5.2). ``spectral_reg`` > 0 adds that weight times the sum of the
    normalised-Laplacian eigenvalues ``spectral_eigs`` (1-indexed) to the loss
    (``spectral_reduction="sum"``, the thesis text) or times their mean
    (``"mean"``, the original code: ``cluster_lambda / num_cluster_eigs``) and
    applies Algorithm 2's renormalisation after every step (per unit of an MLP, per channel of a CNN);
    ``spectral_reads_unmasked`` makes it read, while pruning, the kernels as
    TF-MOT's wrapper holds them (:class:`~nnstructure.train.regularizers.UnmaskedKernels`);
    ``spectral_reg_method`` ``"power"`` estimates the eigenvalues with warm-started LOBPCG
    (:class:`~nnstructure.train.regularizers.PowerEigenvalues`) instead of ``eigvalsh``.
    ``augment`` turns on CIFAR-style augmentation (images only).
    ``l2_first_layer_l1`` copies the original code, whose MLPs penalised the
    first layer with L1 (coefficient ``l2``) when L2 regularisation was chosen;
    the thesis text describes L2 on every layer (the default).
    """

    epochs: int = _setting(20, "unpruned epochs", {"type": "integer", "minimum": 0})
    prune_epochs: int = _setting(20, "epochs of training with magnitude pruning after the unpruned ones",
                                 {"type": "integer", "minimum": 0})
    batch_size: int = _setting(128, "minibatch size", {"type": "integer", "minimum": 1})
    lr: float = _setting(1e-3, "Adam learning rate", {"type": "number", "exclusiveMinimum": 0})
    beta1: float = _setting(0.9, "Adam beta_1 (Keras default)", {"type": "number", "minimum": 0, "exclusiveMaximum": 1})
    beta2: float = _setting(0.999, "Adam beta_2 (Keras default)", {"type": "number", "minimum": 0, "exclusiveMaximum": 1})
    adam_eps: float = _setting(1e-7, "Adam epsilon (Keras default)", {"type": "number", "exclusiveMinimum": 0})
    l1: float = _setting(0.0, "Keras-style L1 kernel penalty coefficient", {"type": "number", "minimum": 0})
    l2: float = _setting(0.0, "Keras-style L2 kernel penalty coefficient", {"type": "number", "minimum": 0})
    initial_sparsity: float = _setting(0.5, "pruning: sparsity at the start of the pruning phase",
                                       {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, applies="pruning")
    final_sparsity: float = _setting(0.9, "pruning: sparsity at the end of the pruning phase",
                                     {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, applies="pruning")
    prune_frequency: int = _setting(10, "pruning: steps between mask updates (TF-MOT frequency)",
                                    {"type": "integer", "minimum": 1}, applies="pruning")
    prune_power: float = _setting(3.0, "pruning: exponent of the polynomial sparsity schedule",
                                  {"type": "number", "exclusiveMinimum": 0}, applies="pruning")
    clusterable_init: bool = _setting(False, "clusterable initialisation (thesis 3.5.2)", {"type": "boolean"}, init=True)
    ci_groups: int = _setting(10, "clusterable init: number of unit groups", {"type": "integer", "minimum": 2},
                              applies="clusterable_init", init=True)
    ci_beta: float | None = _setting(None, "clusterable init: weight scale between groups (null: 0.6 MLP, 0.8 CNN/VGG)",
                                     {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
                                     applies="clusterable_init", init=True)
    spectral_reg: float = _setting(0.0, "weight of the eigenvalue clusterability regularizer (MLP or CNN)",
                                   {"type": "number", "minimum": 0})
    spectral_eigs: tuple[int, ...] = _setting((2, 3, 4), "spectral regularizer: 1-indexed eigenvalues of L_sym",
                                              {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                                              applies="spectral_reg")
    spectral_reduction: str = _setting("sum", "spectral regularizer: sum of the eigenvalues (thesis text) or their mean (original code)",
                                       {"type": "string", "enum": ["sum", "mean"]}, applies="spectral_reg")
    spectral_reads_unmasked: bool = _setting(
        False, "spectral regularizer while pruning: read the kernels as TF-MOT's pruning wrapper holds them (masked "
        "entries keep the last optimizer update; the original code's loss read them) instead of the pruned kernels",
        {"type": "boolean"}, applies="spectral_pruning")
    spectral_reg_method: str = _setting(
        "eigh", "spectral regularizer: eigenvalues from a full eigendecomposition every step (eigh) or from a few "
        "warm-started LOBPCG iterations (power; cheaper, and the only one for CNN channel graphs)",
        {"type": "string", "enum": ["eigh", "power"]}, applies="spectral_power")
    l2_first_layer_l1: bool = _setting(False, "original code: with L2 chosen, an MLP's first layer gets an L1 penalty "
                                       "(thesis text: L2 everywhere)", {"type": "boolean"}, applies="l2_mlp")
    shuffle: bool = _setting(True, "reshuffle the training set every epoch (off for memorization)", {"type": "boolean"})
    augment: bool = _setting(False, "CIFAR augmentation: rotations, shifts, flips", {"type": "boolean"})
    precision: str = _setting("fp32", "arithmetic: fp32, or bf16 autocast (AMX on CPU, tensor cores on CUDA) with fp32 "
                              "weights, optimiser and loss, or auto: bf16 where the device computes it natively, fp32 "
                              "elsewhere (an AVX2-only CPU runs bf16 10-50x slower); the checkpoint records the one used",
                              {"type": "string", "enum": ["auto", "fp32", "bf16"]})
    grad_clip_norm: float = _setting(
        0.0, "clip each step's gradient to this global L2 norm (0: off, the thesis); it bounds the step a rare "
        "large-loss batch gives", {"type": "number", "minimum": 0}, applies="grad_clip")
    lr_schedule: str = _setting(
        "constant", "learning rate over the unpruned epochs: constant (the thesis) or cosine (epoch e of E at "
        "lr x (1 + cos(pi e / E)) / 2, so the last epochs take small steps; the pruning phase stays constant)",
        {"type": "string", "enum": ["constant", "cosine"]}, applies="lr_schedule")

    def __post_init__(self) -> None:
        self.spectral_eigs = tuple(int(k) for k in self.spectral_eigs)
        if self.epochs < 0 or self.prune_epochs < 0:
            raise ValueError(f"epochs and prune_epochs must be >= 0, got {self.epochs} and {self.prune_epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0.0 <= self.initial_sparsity < 1.0 or not 0.0 <= self.final_sparsity < 1.0:
            raise ValueError("initial_sparsity and final_sparsity must be in [0, 1)")
        if self.initial_sparsity > self.final_sparsity:
            raise ValueError(
                f"initial_sparsity {self.initial_sparsity} is above final_sparsity {self.final_sparsity}: pruning only "
                "removes weights, so the sparsity schedule must not fall; set initial_sparsity <= final_sparsity"
            )
        if self.prune_frequency < 1:
            raise ValueError(f"prune_frequency must be >= 1, got {self.prune_frequency}")
        if self.l1 < 0 or self.l2 < 0 or self.spectral_reg < 0:
            raise ValueError("l1, l2 and spectral_reg must be >= 0")
        if self.ci_groups < 1:
            raise ValueError(f"ci_groups must be >= 1, got {self.ci_groups}")
        if self.ci_beta is not None and not 0.0 < self.ci_beta <= 1.0:
            raise ValueError(f"ci_beta must be in (0, 1], got {self.ci_beta}")
        if self.spectral_reduction not in ("sum", "mean"):
            raise ValueError(f"spectral_reduction must be 'sum' (thesis text) or 'mean' (original code), got {self.spectral_reduction!r}")
        if self.spectral_reg_method not in ("eigh", "power"):
            raise ValueError(f"spectral_reg_method must be 'eigh' (full eigendecomposition) or 'power' (warm-started "
                             f"LOBPCG), got {self.spectral_reg_method!r}")
        if self.grad_clip_norm < 0:
            raise ValueError(f"grad_clip_norm must be >= 0 (0: no clipping), got {self.grad_clip_norm}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32', 'bf16' (bfloat16 autocast) or 'auto' (bf16 where the device "
                             f"has it natively), got {self.precision!r}")
        if any(k < 1 for k in self.spectral_eigs):
            raise ValueError(f"spectral_eigs are 1-indexed eigenvalue numbers, got {self.spectral_eigs}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["spectral_eigs"] = list(self.spectral_eigs)
        # settings at their defaults are left out, as before they existed: old resume states and checkpoints still match
        if d["lr_schedule"] == "constant":
            del d["lr_schedule"]
        if d["grad_clip_norm"] == 0:
            del d["grad_clip_norm"]
        return d

    def lr_at(self, epoch: int) -> float:
        """The learning rate of (0-based) ``epoch``: ``lr``, or its cosine annealing over the unpruned epochs."""
        if self.lr_schedule == "constant" or epoch >= self.epochs:
            return self.lr
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}; known keys: {sorted(known)}")
        return cls(**d)


@dataclass
class ModelSettings:
    """The settings of a network's model spec that the workflow sets beside :class:`TrainConfig`."""

    dropout: float = _setting(0.0, "dropout rate after every MLP hidden layer; for cnn/vgg any value > 0 switches on "
                              "their fixed per-layer rates (thesis 3.4)", {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                              init=True)
    widths: list[int] | None = _setting(None, "MLP hidden widths (default 4 x 256, thesis 3.3)",
                                        {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                                        applies="mlp", init=True)


# ---------------------------------------------------------------------------------------------
# Everything below is derived from the field metadata above (the single definition of a setting).


def setting_fields() -> dict[str, Field]:
    """Every configurable setting, by name: :class:`TrainConfig`'s fields, then :class:`ModelSettings`'s."""
    return {f.name: f for cls in (TrainConfig, ModelSettings) for f in fields(cls)}


def setting_default(f: Field) -> Any:
    value = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    return list(value) if isinstance(value, tuple) else value


def settings_schema(with_defaults: bool) -> dict:
    """The JSON schema of a flat settings mapping (``train:`` in the workflow config, or a condition's overrides).

    ``with_defaults`` adds each setting's default (Snakemake's ``validate`` fills them in).
    """
    properties = {}
    for name, f in setting_fields().items():
        prop = {**f.metadata["schema"], "description": f.metadata["help"]}
        default = setting_default(f)
        if with_defaults and default is not None:
            prop["default"] = default
        properties[name] = prop
    return {"type": "object", "additionalProperties": False, "properties": properties}


_APPLIES = {
    None: lambda s, arch: True,
    "pruning": lambda s, arch: s.get("prune_epochs", 0) > 0,
    "clusterable_init": lambda s, arch: bool(s.get("clusterable_init")),
    "spectral_reg": lambda s, arch: s.get("spectral_reg", 0) > 0,
    "spectral_pruning": lambda s, arch: s.get("spectral_reg", 0) > 0 and s.get("prune_epochs", 0) > 0,
    # recorded only when not the default, so networks trained before the setting existed keep their params
    "spectral_power": lambda s, arch: s.get("spectral_reg", 0) > 0 and s.get("spectral_reg_method", "eigh") != "eigh",
    "l2_mlp": lambda s, arch: arch == "mlp" and s.get("l2", 0) > 0,
    # recorded only when not the default
    "lr_schedule": lambda s, arch: s.get("lr_schedule", "constant") != "constant",
    "grad_clip": lambda s, arch: s.get("grad_clip_norm", 0) > 0,
    "mlp": lambda s, arch: arch == "mlp",
}


def applicable_settings(settings: dict, arch: str, trained: bool = True) -> dict:
    """The subset of ``settings`` that changes a network of ``arch``: exactly what a job's params need.

    Unset settings take their defaults first. Settings whose condition does not
    hold (pruning settings without pruning epochs, clusterable-init settings
    without clusterable init, the spectral regularizer's details without it, ...)
    are left out, and with ``trained=False`` (a randomly initialised network)
    only the settings that change the initial network remain.
    """
    defined = setting_fields()
    unknown = sorted(set(settings) - set(defined))
    if unknown:
        raise ValueError(f"unknown training setting(s) {unknown}; known settings: {', '.join(defined)}")
    full = {name: settings.get(name, setting_default(f)) for name, f in defined.items()}
    if full["widths"] is None and arch == "mlp":
        full["widths"] = list(DEFAULT_MLP_WIDTHS)
    out = {}
    for name, f in defined.items():
        if not trained and not f.metadata["init"]:
            continue
        if _APPLIES[f.metadata["applies"]](full, arch):
            value = full[name]
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def split_settings(settings: dict) -> tuple[TrainConfig, ModelSettings]:
    """A flat settings dict as (:class:`TrainConfig`, :class:`ModelSettings`); unset ones take defaults."""
    model_names = {f.name for f in fields(ModelSettings)}
    unknown = sorted(set(settings) - set(setting_fields()))
    if unknown:
        raise ValueError(f"unknown training setting(s) {unknown}; known settings: {', '.join(setting_fields())}")
    model = ModelSettings(**{k: v for k, v in settings.items() if k in model_names})
    train = TrainConfig.from_dict({k: v for k, v in settings.items() if k not in model_names})
    return train, model


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _list_of_ints(text: str) -> list[int]:
    import argparse

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 256,256,256,256, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected at least one positive integer, got {text!r}")
    return values


def add_setting_options(parser) -> None:
    """One command-line option per setting (``--prune-epochs``, ``--no-shuffle``, ...), defaults as above."""
    import argparse

    group = parser.add_argument_group("training settings (the same keys as the workflow config's 'train:')")
    for name, f in setting_fields().items():
        schema = f.metadata["schema"]
        kind = schema["type"][0] if isinstance(schema["type"], list) else schema["type"]
        default = setting_default(f)
        help_text = f.metadata["help"] + (f" (default {default})" if default is not None else "")
        if kind == "boolean":
            group.add_argument(_option(name), dest=name, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif kind == "array":
            group.add_argument(_option(name), dest=name, type=_list_of_ints, default=default, metavar="N,N,...", help=help_text)
        elif "enum" in schema:
            group.add_argument(_option(name), dest=name, choices=schema["enum"], default=default, help=help_text)
        else:
            group.add_argument(_option(name), dest=name, type=int if kind == "integer" else float, default=default, help=help_text)


def settings_from_options(args) -> dict:
    """The flat settings dict from options added by :func:`add_setting_options`."""
    return {name: getattr(args, name) for name in setting_fields()}
