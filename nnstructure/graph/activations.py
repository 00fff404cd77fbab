"""Activation graphs (thesis 4.3.1): squared Spearman correlations of neurons' pre-ReLU activations.

Nodes are a network's *hidden units* (:func:`unit_layers`):

* **MLP** (a Sequential whose weight layers are all ``Linear``): the outputs of
  every Linear layer except the last. The input pixels are not activations and
  the logits are not clustered: the original code
  (github.com/thestephencasper/local_specialization, ``src/train_nn.py``
  ``save_activations`` and ``src/activations.py`` with ``exclude_inputs=True``)
  records inputs and logits and then drops both before clustering. The weight
  graph of an MLP (:func:`nnstructure.graph.weight_graph`) does include the
  input and output neurons, as the thesis says; its hidden layers carry the same
  names as here, so subclusters of either graph name the same units.
* **CNN** (a Sequential with ``Conv2d`` layers): one node per output channel of
  every conv layer; dense layers are ignored, as for the weight graph. A
  channel's activation on one input is the L1 norm over space of its pre-ReLU
  feature map.

A unit's *pre-ReLU activation* is the output of its Linear/Conv2d module (bias
included; for VGG's conv -> ReLU -> BatchNorm the conv output). Edge weights are
the squared Spearman correlation of two units' activations over the inputs
given (a validation split of the training data; never the test set). Spearman
correlation is the Pearson correlation of ranks (average ranks for ties, as
``scipy.stats.spearmanr``), so all pairs come from one matrix product of the
standardised rank matrix. The diagonal is 0. A unit whose activation is
constant over the inputs has no defined correlation: it gets no edges (it is
isolated, so spectral clustering labels it ``-1``) and is listed in
``graph.meta["constant_units"]``.

Representation: a :class:`~nnstructure.graph.blocks.BlockGraph` whose blocks
join *every* pair of layers, including each layer with itself. A within-layer
block (``src == dst``) holds each pair once, in its strict upper triangle, so
the assembled adjacency (which adds every block and its transpose) is the
symmetric correlation graph. Chapter 3's spectral clustering, n-cut and
subgraph code work on it unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnstructure.graph.blocks import Block, BlockGraph

# Modules allowed between a unit's weight layer and the next one (they keep channels).
_PASS_THROUGH = (
    nn.ReLU, nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d, nn.Identity,
)


@dataclass(frozen=True)
class UnitLayer:
    """One layer of hidden units of an ``nn.Sequential``.

    ``name`` is the Sequential child name of the Linear/Conv2d that computes the
    units (the same node-layer name as in the weight graph); ``module_index`` its
    position among the children; ``size`` the number of units (features or
    channels); ``kind`` ``"dense"`` or ``"conv"``. ``mask_index`` is the child
    position in front of which the units' outputs are consumed (the next weight
    layer or Flatten, after any ReLU / BatchNorm / pooling / dropout): zeroing
    the units there is the same as zeroing their outgoing weights.
    """

    name: str
    module_index: int
    size: int
    kind: str
    mask_index: int


def unit_layers(model: nn.Sequential) -> list[UnitLayer]:
    """The hidden unit layers of ``model`` (see the module docstring); an error names what is missing."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(
            f"chapter-4 analyses need an nn.Sequential (one of our checkpoints), got {type(model).__name__}"
        )
    children = list(model.named_children())
    weights = [(i, name, m) for i, (name, m) in enumerate(children) if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not weights:
        raise ValueError("the model has no Linear or Conv2d layer, so it has no units to cluster")
    convs = [w for w in weights if isinstance(w[2], nn.Conv2d)]
    if convs:
        chosen, kind = convs, "conv"
    else:
        chosen, kind = weights[:-1], "dense"  # the last Linear computes the logits
    if not chosen:
        raise ValueError(
            "the model has no hidden layer to cluster: an MLP needs at least one hidden Linear layer "
            "before its output layer (e.g. --widths 256,256)"
        )
    layers = []
    for index, name, module in chosen:
        if isinstance(module, nn.Conv2d) and module.groups != 1:
            raise ValueError(f"layer {name!r} is a grouped convolution; only groups=1 is supported")
        mask_index = len(children)
        for j in range(index + 1, len(children)):
            child = children[j][1]
            if isinstance(child, (nn.Linear, nn.Conv2d, nn.Flatten)):
                mask_index = j
                break
            if not isinstance(child, _PASS_THROUGH):
                raise ValueError(
                    f"cannot follow units of layer {name!r} through {children[j][0]!r} ({type(child).__name__}); "
                    "supported between weight layers: ReLU, BatchNorm, Dropout, pooling"
                )
        size = module.out_channels if isinstance(module, nn.Conv2d) else module.out_features
        layers.append(UnitLayer(name, index, int(size), kind, mask_index))
    return layers


def network_inputs(x, device: torch.device | str = "cpu") -> torch.Tensor:
    """A batch of dataset inputs as network inputs: ``uint8`` images are scaled to ``[0, 1]``."""
    t = torch.as_tensor(x)
    if t.dtype == torch.uint8:
        return t.to(device).float().div_(255.0)
    return t.to(device).float()


@torch.no_grad()
def pre_activations(
    model: nn.Sequential, x, layers: list[UnitLayer] | None = None, batch_size: int = 1024, device=None
) -> dict[str, np.ndarray]:
    """Pre-ReLU activations ``(N, units)`` (float64) of every unit layer on inputs ``x``.

    Conv channels are reduced to the L1 norm of their feature map over space.
    """
    from nnstructure.device import select_device

    device = device if isinstance(device, torch.device) else select_device(device)
    layers = unit_layers(model) if layers is None else layers
    model = model.to(device).eval()
    children = list(model.children())
    last = max(layer.module_index for layer in layers)
    wanted = {layer.module_index: layer.name for layer in layers}
    chunks: dict[str, list[np.ndarray]] = {layer.name: [] for layer in layers}
    for start in range(0, len(x), batch_size):
        h = network_inputs(x[start:start + batch_size], device)
        for i in range(last + 1):
            h = children[i](h)
            if i in wanted:
                a = h.abs().sum(dim=(2, 3)) if h.ndim == 4 else h
                chunks[wanted[i]].append(a.double().cpu().numpy())
    return {name: np.concatenate(parts) if parts else np.zeros((0, 0)) for name, parts in chunks.items()}


def spearman_squared(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(R, constant)``: squared Spearman correlations between the columns of ``activations`` ``(N, U)``.

    ``R`` has a zero diagonal and zero rows/columns for the constant columns
    flagged in the boolean ``constant``.
    """
    from scipy.stats import rankdata

    a = np.asarray(activations, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"activations must be a 2-D (samples x units) matrix, got shape {a.shape}")
    if a.shape[0] < 3:
        raise ValueError(f"need at least 3 samples to correlate activations, got {a.shape[0]}")
    ranks = rankdata(a, axis=0)
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks**2).sum(axis=0))
    constant = norms <= 1e-12 * a.shape[0]
    z = np.divide(ranks, norms, out=np.zeros_like(ranks), where=~constant)
    corr = z.T @ z
    r2 = np.clip(corr**2, 0.0, 1.0)
    np.fill_diagonal(r2, 0.0)
    r2[constant, :] = 0.0
    r2[:, constant] = 0.0
    return r2, constant


def activation_graph_from_activations(activations: dict[str, np.ndarray], meta: dict | None = None) -> BlockGraph:
    """The activation graph of per-layer activation matrices ``{layer name: (N, units)}`` (in layer order)."""
    names = list(activations)
    if not names:
        raise ValueError("no activations given")
    n = {a.shape[0] for a in activations.values()}
    if len(n) != 1:
        raise ValueError(f"every layer needs activations on the same inputs; got sample counts {sorted(n)}")
    sizes = [int(activations[name].shape[1]) for name in names]
    r2, constant = spearman_squared(np.concatenate([activations[name] for name in names], axis=1))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    blocks = []
    for i in range(len(names)):
        for j in range(i, len(names)):
            w = r2[offsets[i]:offsets[i + 1], offsets[j]:offsets[j + 1]]
            blocks.append(Block(i, j, np.triu(w, k=1) if i == j else w))
    layer_of = np.repeat(np.arange(len(names)), sizes)
    unit_of = np.concatenate([np.arange(s) for s in sizes])
    constant_units = [[names[layer_of[u]], int(unit_of[u])] for u in np.nonzero(constant)[0]]
    graph_meta = {
        "kind": "activations",
        "edge": "squared Spearman correlation of pre-ReLU activations",
        "n_samples": int(n.pop()),
        "constant_units": constant_units,
        **(meta or {}),
    }
    return BlockGraph(names, sizes, blocks, graph_meta)


def activation_graph(
    model: "nn.Sequential | str | os.PathLike", x, batch_size: int = 1024, device=None
) -> BlockGraph:
    """The activation graph of ``model`` (a Sequential or a checkpoint path) over inputs ``x``.

    ``x`` holds dataset inputs (``uint8`` images are scaled to ``[0, 1]``); pass
    a validation split of the training data. ``graph.meta`` records ``kind =
    "activations"``, ``network_kind`` (``"mlp"``/``"cnn"``), ``n_samples`` and
    ``constant_units`` (``[layer name, unit]`` of every unit without edges).
    """
    if isinstance(model, (str, os.PathLike)):
        from nnstructure.checkpoint import load_checkpoint

        model = load_checkpoint(model).model
    layers = unit_layers(model)
    acts = pre_activations(model, x, layers, batch_size=batch_size, device=device)
    kind = "cnn" if layers[0].kind == "conv" else "mlp"
    activation = "L1 norm over space of pre-ReLU feature maps" if kind == "cnn" else "pre-ReLU"
    return activation_graph_from_activations(acts, {"network_kind": kind, "activation": activation})
