"""Loss penalties: Keras L1/L2 kernel regularizers and the spectral clusterability regularizer (thesis 3.5.1)."""

from __future__ import annotations

import math

import torch
from torch import nn

from nnstructure.models import kernel_layers


def weight_penalty(model: nn.Module, l1: float = 0.0, l2: float = 0.0, first_layer_l1: bool = False) -> torch.Tensor:
    """Keras-style ``l1 * sum|w| + l2 * sum w**2`` over Linear/Conv2d kernels (biases and batch norm excluded).

    ``first_layer_l1`` reproduces the original code's MLPs, whose first dense
    layer always got ``regularizers.l1(rate)`` even when L2 was chosen: the
    first kernel then pays ``l2 * sum|w|`` instead of ``l2 * sum w**2``.
    """
    total = torch.zeros((), device=next(model.parameters()).device)
    for i, layer in enumerate(kernel_layers(model)):
        if l1:
            total = total + l1 * layer.weight.abs().sum()
        if l2:
            if first_layer_l1 and i == 0:
                total = total + l2 * layer.weight.abs().sum()
            else:
                total = total + l2 * layer.weight.pow(2).sum()
    return total


def _mlp_linears(model: nn.Module) -> list[nn.Linear]:
    layers = kernel_layers(model)
    if not layers or not all(isinstance(m, nn.Linear) for m in layers):
        raise ValueError("the spectral clusterability regularizer is implemented for MLPs (Linear layers only)")
    return layers


def weight_adjacency(model: nn.Module, residuals: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Dense symmetric adjacency ``|W|`` of an MLP's units (inputs, hidden units and outputs), differentiable.

    ``residuals`` (one tensor per Linear layer, or None) are added to the kernels before the absolute value:
    the values a pruned layer's masked-out entries hold in TF-MOT's kernel variable (:class:`UnmaskedKernels`).
    """
    linears = _mlp_linears(model)
    if residuals is not None and len(residuals) != len(linears):
        raise ValueError(f"got {len(residuals)} residual kernels for an MLP with {len(linears)} Linear layers")
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    n = sum(sizes)
    dtype = torch.float64
    adjacency = torch.zeros(n, n, dtype=dtype, device=linears[0].weight.device)
    start = 0
    for i, (size_in, layer) in enumerate(zip(sizes[:-1], linears)):
        mid = start + size_in
        kernel = layer.weight if residuals is None else layer.weight + residuals[i]
        block = kernel.abs().to(dtype).T  # rows: inputs, columns: outputs
        adjacency[start:mid, mid:mid + layer.out_features] = block
        start = mid
    return adjacency + adjacency.T


def channel_adjacency(model: nn.Module) -> torch.Tensor:
    """Dense symmetric adjacency of a conv net's channel graph, differentiable (thesis 3.2.1 for CNNs).

    The graph of :func:`nnstructure.graph.weights.weight_graph` with ``kernel_norm="l1"`` (thesis text): one node
    per output channel of every ``Conv2d``; between consecutive convs, input channel ``i`` and output channel ``o``
    are joined by ``sum |weight[o, i]|``. Input-image channels and dense layers are left out. Networks with batch
    norm are refused (the workflow's graph folds it into the preceding conv; this regulariser does not).
    """
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ValueError("the spectral regularizer's channel graph does not fold batch norm; use a conv net without "
                         "BatchNorm layers (e.g. arch cnn) or spectral_reg 0")
    convs = [m for m in kernel_layers(model) if isinstance(m, nn.Conv2d)]
    if len(convs) < 2:
        raise ValueError(f"a CNN channel graph needs at least 2 Conv2d layers, found {len(convs)}")
    sizes = [m.out_channels for m in convs]
    n = sum(sizes)
    dtype = torch.float64
    adjacency = torch.zeros(n, n, dtype=dtype, device=convs[0].weight.device)
    start = 0
    for prev_size, conv in zip(sizes[:-1], convs[1:]):
        if conv.in_channels != prev_size:
            raise ValueError(f"a Conv2d reads {conv.in_channels} channels but the conv before it makes {prev_size}")
        mid = start + prev_size
        block = conv.weight.abs().sum(dim=(2, 3)).to(dtype).T  # rows: input channels, columns: output channels
        adjacency[start:mid, mid:mid + conv.out_channels] = block
        start = mid
    return adjacency + adjacency.T


def regularizer_adjacency(model: nn.Module, residuals: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The graph the spectral regulariser reads: an MLP's unit graph (:func:`weight_adjacency`), or, for a network
    with ``Conv2d`` layers, its channel graph (:func:`channel_adjacency`; ``residuals`` are for pruned MLPs only)."""
    if any(isinstance(m, nn.Conv2d) for m in kernel_layers(model)):
        if residuals is not None:
            raise ValueError("spectral_reads_unmasked applies to MLPs only")
        return channel_adjacency(model)
    return weight_adjacency(model, residuals)


def normalized_laplacian(adjacency: torch.Tensor) -> torch.Tensor:
    """``L_sym = I - D^-1/2 A D^-1/2``; isolated nodes get ``D^-1/2 = 0``."""
    degree = adjacency.sum(dim=1)
    inv_sqrt = torch.where(degree > 0, degree.clamp_min(1e-30).rsqrt(), torch.zeros_like(degree))
    eye = torch.eye(adjacency.shape[0], dtype=adjacency.dtype, device=adjacency.device)
    return eye - inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]


def laplacian_eigenvalues(model: nn.Module, residuals: list[torch.Tensor] | None = None) -> torch.Tensor:
    """All eigenvalues (ascending) of the normalised Laplacian of an MLP's weight graph, with autograd
    (``residuals``: see :func:`weight_adjacency`)."""
    return torch.linalg.eigvalsh(normalized_laplacian(regularizer_adjacency(model, residuals)))


SPECTRAL_REG_METHODS = ("eigh", "power")


class PowerEigenvalues:
    """Warm-started LOBPCG estimates of the smallest eigenvalues of ``L_sym`` (``spectral_reg_method: power``).

    Each call runs at most ``iters`` LOBPCG iterations (``torch.lobpcg``, without autograd) started from the
    previous call's Ritz vectors, ``cold_iters`` on the first call (random start, seeded). The ``n_eigs``
    smallest eigenvalues are then the Rayleigh quotients ``x_k^T L_sym x_k`` of the Ritz vectors ``x_k``, held
    fixed: differentiable through ``L_sym`` only. For an exact eigenvector this is the eigenvalue's exact gradient
    ``d lambda_k / d L_sym = x_k x_k^T`` (thesis 3.5.1, Magnus 1985), which is also what ``eigvalsh``'s backward
    gives; with an approximate ``x_k`` the value's error is quadratic in the eigenvector's error. The block
    holds ``n_eigs + oversample`` vectors (more vectors converge faster); LOBPCG needs at least 3 times as many
    nodes. The state (:meth:`state_dict`) is the block of Ritz vectors.
    """

    def __init__(self, n_eigs: int, iters: int = 4, cold_iters: int = 50, oversample: int = 4, tol: float = 1e-7,
                 seed: int = 0):
        if n_eigs < 1 or iters < 1 or cold_iters < 1 or oversample < 0:
            raise ValueError("n_eigs, iters and cold_iters must be >= 1 and oversample >= 0")
        self.n_eigs, self.iters, self.cold_iters, self.tol, self.seed = n_eigs, iters, cold_iters, tol, seed
        self.block = n_eigs + oversample
        self.vectors: torch.Tensor | None = None

    def __call__(self, laplacian: torch.Tensor) -> torch.Tensor:
        """The ``n_eigs`` smallest eigenvalues (ascending) of the symmetric ``laplacian``, with autograd."""
        n = laplacian.shape[0]
        if n < 3 * self.block:
            raise ValueError(f"spectral_reg_method 'power' needs a graph of at least {3 * self.block} nodes for "
                             f"{self.block} LOBPCG vectors, got {n}; use spectral_reg_method 'eigh'")
        with torch.no_grad():
            lap = laplacian.detach()
            start, iters = self.vectors, self.iters
            if start is None or start.shape != (n, self.block) or start.dtype != lap.dtype or start.device != lap.device:
                gen = torch.Generator().manual_seed(self.seed)
                start = torch.randn(n, self.block, generator=gen, dtype=lap.dtype).to(lap.device)
                iters = self.cold_iters
            _, vectors = torch.lobpcg(lap, X=start, niter=iters, tol=self.tol, largest=False)
            self.vectors = vectors
            # Ritz vectors ordered by Rayleigh quotient (lobpcg may stop between reorderings)
            order = torch.argsort(torch.einsum("ik,ij,jk->k", vectors, lap, vectors))[: self.n_eigs]
            fixed = vectors[:, order]
        return torch.einsum("ik,ij,jk->k", fixed, laplacian, fixed)

    def state_dict(self) -> dict:
        return {"vectors": None if self.vectors is None else self.vectors.detach().cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.vectors = state["vectors"]


def eigenvalue_estimator(method: str, eigs=(2, 3, 4), seed: int = 0) -> PowerEigenvalues | None:
    """The estimator :func:`spectral_penalty` takes for training setting ``spectral_reg_method``:
    ``None`` for ``"eigh"`` (a full eigendecomposition every step), a :class:`PowerEigenvalues` for ``"power"``."""
    if method == "eigh":
        return None
    if method == "power":
        return PowerEigenvalues(max(eigs), seed=seed)
    raise ValueError(f"spectral_reg_method must be one of {', '.join(SPECTRAL_REG_METHODS)}, got {method!r}")


def spectral_penalty(model: nn.Module, eigs=(2, 3, 4), reduction: str = "sum",
                     unmasked: "UnmaskedKernels | None" = None,
                     estimator: PowerEigenvalues | None = None) -> torch.Tensor:
    """Sum (thesis text) or mean (original code) of the 1-indexed eigenvalues ``eigs`` of the
    MLP's normalised Laplacian (lambda_1 = 0).

    ``unmasked`` (training setting ``spectral_reads_unmasked``): the graph is built from the kernels as TF-MOT's
    pruning wrapper holds them (masked-out entries keep the last optimizer update) instead of the pruned kernels;
    without pruning the two are the same.

    ``estimator`` (training setting ``spectral_reg_method``, see :func:`eigenvalue_estimator`): ``None`` computes
    every eigenvalue with ``eigvalsh``; a :class:`PowerEigenvalues` estimates the smallest ones. A network with
    ``Conv2d`` layers is regularised on its channel graph (:func:`regularizer_adjacency`).
    """
    residuals = None if unmasked is None else unmasked.residuals()
    if estimator is None:
        values = laplacian_eigenvalues(model, residuals)[[k - 1 for k in eigs]]
    else:
        if max(eigs) > estimator.n_eigs:
            raise ValueError(f"the estimator tracks {estimator.n_eigs} eigenvalues but eigs asks for up to {max(eigs)}")
        values = estimator(normalized_laplacian(regularizer_adjacency(model, residuals)))[[k - 1 for k in eigs]]
    if reduction == "sum":
        return values.sum()
    if reduction == "mean":
        return values.mean()
    raise ValueError(f"spectral reduction must be 'sum' or 'mean', got {reduction!r}")


class UnmaskedKernels:
    """The kernels of a pruned MLP as the original code's regulariser read them (``spectral_reads_unmasked``).

    The original code (TensorFlow 1.15, TF-MOT 0.1.1) built its loss from ``l.weights[0]`` of each
    ``PruneLowMagnitude``-wrapped layer: the wrapped layer's kernel *variable*. TF-MOT does not keep a
    separate sparse copy: its ``weight_mask_op`` assigns ``kernel * mask`` to that variable as a layer
    update, which Keras runs after the loss of the step, beside the optimizer's update. The optimizer
    updates every entry (masked ones get gradients too), so between one step's updates and the next
    mask assignment the masked-out entries hold the last optimizer update instead of zero. Our
    :class:`~nnstructure.train.pruning.MagnitudePruner` keeps them exactly zero at all times.

    :meth:`record`, called after the optimizer step and before the pruner zeroes the masked entries,
    keeps those values; :meth:`residuals` gives them (detached, zero where the mask keeps a weight) for
    :func:`spectral_penalty`, whose gradient then reaches the masked entries too (Adam's state for them
    evolves as TF's did; the pruner zeroes them again after the step). Without a pruner, or before any
    :meth:`record`, the residuals are all zero and the regulariser reads the same graph either way.
    """

    def __init__(self, model: nn.Module, pruner=None):
        self.linears = _mlp_linears(model)
        self.pruner = pruner
        self._residuals: list[torch.Tensor] = [torch.zeros_like(layer.weight) for layer in self.linears]

    def _masks(self) -> list[torch.Tensor | None]:
        if self.pruner is None:
            return [None] * len(self.linears)
        by_param = {id(param): self.pruner.masks[key] for key, param in self.pruner.params.items()}
        return [by_param.get(id(layer.weight)) for layer in self.linears]

    @torch.no_grad()
    def record(self) -> None:
        """Keep the masked-out entries' current values (call after ``optimizer.step()``, before ``pruner.apply()``)."""
        for i, (layer, mask) in enumerate(zip(self.linears, self._masks())):
            self._residuals[i] = (torch.zeros_like(layer.weight) if mask is None
                                  else layer.weight.detach() * (~mask).to(layer.weight.dtype))

    def residuals(self) -> list[torch.Tensor]:
        """Per Linear layer, the recorded values of its masked-out entries, zero where the mask keeps a weight
        (masks changed since :meth:`record` are applied: a weight kept now has residual zero)."""
        out = []
        for residual, mask in zip(self._residuals, self._masks()):
            out.append(residual if mask is None else residual * (~mask).to(residual.dtype))
        return out


@torch.no_grad()
def normalize_hidden_units_(model: nn.Module) -> None:
    """Algorithm 2: rescale each hidden unit's incoming weights and bias to norm sqrt(2), its outgoing weights inversely.

    For ReLU MLPs (positive homogeneity) this leaves the computed function
    unchanged. A unit with all-zero input weights and bias is left as it is and
    its outgoing weights are multiplied by 0, as in the thesis's algorithm.
    """
    linears = _mlp_linears(model)
    root2 = math.sqrt(2.0)
    for layer, nxt in zip(linears[:-1], linears[1:]):
        norms_sq = layer.weight.pow(2).sum(dim=1)
        if layer.bias is not None:
            norms_sq = norms_sq + layer.bias.pow(2)
        norms = norms_sq.sqrt()
        scale_in = torch.where(norms > 0, root2 / norms.clamp_min(1e-30), torch.ones_like(norms))
        layer.weight.mul_(scale_in[:, None])
        if layer.bias is not None:
            layer.bias.mul_(scale_in)
        nxt.weight.mul_((norms / root2)[None, :])


_POSITIVELY_HOMOGENEOUS = (nn.ReLU, nn.MaxPool2d, nn.Dropout, nn.Flatten)


@torch.no_grad()
def normalize_channels_(model: nn.Sequential) -> None:
    """Algorithm 2 for a conv net's channel graph: every conv channel's kernel and bias get norm sqrt(2), the
    weights reading that channel (the next conv's input slice, or, after the last conv, the dense layer's
    columns of that channel's flattened pixels) are scaled inversely.

    Leaves the computed function unchanged when only ReLU, max-pooling, dropout and flattening sit between a conv
    and the next weight layer (positive scaling commutes with them); anything else there is refused. Without it the
    regulariser could lower the channel graph's eigenvalues by rescaling channels, as the thesis notes for MLPs.
    """
    children = list(model.children())
    weight_idx = [i for i, m in enumerate(children) if isinstance(m, (nn.Conv2d, nn.Linear))]
    root2 = math.sqrt(2.0)
    for a, b in zip(weight_idx[:-1], weight_idx[1:]):
        layer, nxt = children[a], children[b]
        if not isinstance(layer, nn.Conv2d):
            break
        between = [m for m in children[a + 1:b] if not isinstance(m, _POSITIVELY_HOMOGENEOUS)]
        if between:
            raise ValueError(f"cannot renormalise conv channels across {type(between[0]).__name__}: only ReLU, "
                             "MaxPool2d, Dropout and Flatten may sit between a conv and the next weight layer")
        norms_sq = layer.weight.pow(2).sum(dim=(1, 2, 3))
        if layer.bias is not None:
            norms_sq = norms_sq + layer.bias.pow(2)
        norms = norms_sq.sqrt()
        scale_in = torch.where(norms > 0, root2 / norms.clamp_min(1e-30), torch.ones_like(norms))
        layer.weight.mul_(scale_in[:, None, None, None])
        if layer.bias is not None:
            layer.bias.mul_(scale_in)
        if isinstance(nxt, nn.Conv2d):
            nxt.weight.mul_((norms / root2)[None, :, None, None])
        else:  # a dense layer reading the flattened (channels, h, w) output
            per_channel = nxt.in_features // layer.out_channels
            if per_channel * layer.out_channels != nxt.in_features:
                raise ValueError(f"a Linear of {nxt.in_features} inputs cannot read {layer.out_channels} flattened channels")
            nxt.weight.mul_((norms / root2).repeat_interleave(per_channel)[None, :])
