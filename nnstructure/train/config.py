"""Training hyperparameters (defaults: the thesis's MLP settings, section 3.3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


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
    applies Algorithm 2's renormalisation after every step (MLP only).
    ``augment`` turns on CIFAR-style augmentation (images only).
    ``l2_first_layer_l1`` copies the original code, whose MLPs penalised the
    first layer with L1 (coefficient ``l2``) when L2 regularisation was chosen;
    the thesis text describes L2 on every layer (the default).
    """

    epochs: int = 20
    prune_epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-7
    l1: float = 0.0
    l2: float = 0.0
    initial_sparsity: float = 0.5
    final_sparsity: float = 0.9
    prune_frequency: int = 10
    prune_power: float = 3.0
    clusterable_init: bool = False
    ci_groups: int = 10
    ci_beta: float | None = None
    spectral_reg: float = 0.0
    spectral_eigs: tuple[int, ...] = field(default=(2, 3, 4))
    spectral_reduction: str = "sum"
    l2_first_layer_l1: bool = False
    shuffle: bool = True
    augment: bool = False

    def __post_init__(self) -> None:
        self.spectral_eigs = tuple(int(k) for k in self.spectral_eigs)
        if self.epochs < 0 or self.prune_epochs < 0:
            raise ValueError(f"epochs and prune_epochs must be >= 0, got {self.epochs} and {self.prune_epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0.0 <= self.initial_sparsity < 1.0 or not 0.0 <= self.final_sparsity < 1.0:
            raise ValueError("initial_sparsity and final_sparsity must be in [0, 1)")
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
        if any(k < 1 for k in self.spectral_eigs):
            raise ValueError(f"spectral_eigs are 1-indexed eigenvalue numbers, got {self.spectral_eigs}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["spectral_eigs"] = list(self.spectral_eigs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}; known keys: {sorted(known)}")
        return cls(**d)
