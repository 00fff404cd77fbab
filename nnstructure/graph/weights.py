"""Turn a network's weights into a layered weighted graph ("graphification").

Thesis section 3.2.1 and 4.3.1, with the original code's conventions
(github.com/dfilan/clusterability_in_neural_networks, ``src/cnn/extractor.py``):

* **MLP** (a Sequential whose weight layers are all ``Linear``): one node per
  neuron, the inputs and the logits included. Node layers are the first
  Linear's inputs and every Linear's outputs; the block between consecutive node
  layers holds ``|W|`` (rows = inputs, columns = outputs).
* **CNN** (a Sequential with ``Conv2d`` layers): one node per output channel of
  every conv layer; the input image's channels and all dense layers are left
  out. The block between consecutive conv layers holds, for input channel ``i``
  and output channel ``o``, a norm of the kernel slice ``weight[o, i]``:
  ``"l1"`` (thesis text, sum of ``|k|``), ``"l1-matrix"`` (original code:
  ``numpy.linalg.norm(|slice|, 1)``, the largest column sum), ``"l2"``
  (Frobenius, thesis footnote 2) or ``"l2-matrix"`` (original code's ``norm=2``:
  the spectral norm); see :mod:`nnstructure.graph.kernel_norms`.
* **Batch norm**: with ``fold_batchnorm`` a BatchNorm after a weight layer
  (anywhere before the next weight layer) is folded into *that preceding* layer,
  exactly as the original code does (``collapsed_weights[-1] *= gamma /
  sqrt(var + eps)`` on the conv kernel's output-channel axis): the edges *into*
  node ``c`` of the normalised layer are multiplied by
  ``|gamma_c| / sqrt(running_var_c + eps)``. This is the usual folding of BN into
  the conv it follows. A consequence, as in the original, is that a BatchNorm
  after the first conv layer changes nothing (the edges into the first conv's
  channels come from the omitted input layer).

Biases never enter the graph.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable

import numpy as np

from nnstructure.graph.blocks import Block, BlockGraph
from nnstructure.graph.kernel_norms import check_kernel_norm, kernel_slice_norms
from nnstructure.graph.stored_weights import stored_weights

if TYPE_CHECKING:  # torch is imported lazily: shuffle workers unpickle graphs without needing it
    from torch import nn

def weight_graph(model: "nn.Module | str | os.PathLike", kernel_norm: str = "l1", fold_batchnorm: bool = True) -> BlockGraph:
    """The weight graph of a network given as a module or a checkpoint path.

    A flat ``nn.Sequential`` gets the layered graph below; any other module (a
    ResNet, say) the dataflow graph of :mod:`nnstructure.graph.dataflow`.

    Node layers are named ``"input"`` (MLP inputs) or by the Sequential child name
    of the module that produces them (``model.get_submodule(name)`` finds it), so
    later analyses can map nodes back to units. ``graph.meta`` records ``kind``
    (``"mlp"``/``"cnn"``), ``kernel_norm`` and ``fold_batchnorm``.
    """
    check_kernel_norm(kernel_norm)
    from torch import nn

    if isinstance(model, (str, os.PathLike)):
        from nnstructure.checkpoint import load_checkpoint

        model = load_checkpoint(model).model
    if not isinstance(model, nn.Sequential):
        # Branching networks (ResNets, Inception, torchvision VGGs): the graph follows the traced dataflow.
        from nnstructure.graph.dataflow import dataflow_weight_graph

        return dataflow_weight_graph(model, kernel_norm=kernel_norm, fold_batchnorm=fold_batchnorm)
    layers = _weight_layers(model, fold_batchnorm)
    if not layers:
        raise ValueError("the model has no Linear or Conv2d layer, so it has no weight graph")
    if any(isinstance(m, nn.Conv2d) for _, m, _ in layers):
        graph = _cnn_graph(layers, kernel_norm)
    else:
        graph = _mlp_graph(layers)
    graph.meta.update(kernel_norm=kernel_norm, fold_batchnorm=bool(fold_batchnorm))
    return graph


def _weight_layers(model: "nn.Sequential", fold_batchnorm: bool) -> list[tuple[str, "nn.Module", np.ndarray]]:
    """``(name, module, out_scale)`` for every Linear/Conv2d, BN folded into ``out_scale``."""
    from torch import nn

    pass_through = (nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout)
    layers: list[tuple[str, nn.Module, np.ndarray]] = []
    for name, module in model.named_children():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if isinstance(module, nn.Conv2d) and module.groups != 1:
                raise ValueError(f"layer {name!r} is a grouped convolution (groups={module.groups}); only groups=1 is supported")
            layers.append((name, module, np.ones(module.weight.shape[0])))
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if not fold_batchnorm:
                continue
            if not layers:
                raise ValueError(
                    f"BatchNorm {name!r} comes before any Linear/Conv2d layer, so it cannot be folded; "
                    "pass fold_batchnorm=False"
                )
            prev_name, prev, scale = layers[-1]
            if module.num_features != prev.weight.shape[0]:
                raise ValueError(f"BatchNorm {name!r} has {module.num_features} features but layer {prev_name!r} has {prev.weight.shape[0]} outputs")
            layers[-1] = (prev_name, prev, scale * _batchnorm_scale(name, module))
        elif isinstance(module, pass_through):
            continue
        else:
            raise ValueError(
                f"cannot build a weight graph through layer {name!r} ({type(module).__name__}); supported: "
                "Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Dropout"
            )
    return layers


def _batchnorm_scale(name: str, bn: "nn.Module") -> np.ndarray:
    import torch

    if bn.running_var is None:
        raise ValueError(f"BatchNorm {name!r} keeps no running variance (track_running_stats=False); pass fold_batchnorm=False")
    scale = 1.0 / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().double().abs()
    return scale.cpu().numpy()


def _mlp_graph(layers: list[tuple[str, "nn.Module", np.ndarray]]) -> BlockGraph:
    names = ["input"]
    sizes = [layers[0][1].weight.shape[1]]
    blocks = []
    for i, (name, module, scale) in enumerate(layers):
        w = np.abs(stored_weights(module.weight))  # (out, in); denormals as zeros
        if w.shape[1] != sizes[-1]:
            raise ValueError(f"Linear {name!r} expects {w.shape[1]} inputs but the previous layer has {sizes[-1]} units")
        blocks.append(Block(i, i + 1, (w * scale[:, None]).T))
        names.append(name)
        sizes.append(w.shape[0])
    return BlockGraph(names, sizes, blocks, {"kind": "mlp"})


def _cnn_graph(layers: Iterable[tuple[str, "nn.Module", np.ndarray]], kernel_norm: str) -> BlockGraph:
    from torch import nn

    convs = [(n, m, s) for n, m, s in layers if isinstance(m, nn.Conv2d)]
    names = [n for n, _, _ in convs]
    sizes = [m.out_channels for _, m, _ in convs]
    blocks = []
    for i in range(1, len(convs)):
        name, conv, scale = convs[i]
        if conv.in_channels != sizes[i - 1]:
            raise ValueError(f"Conv2d {name!r} reads {conv.in_channels} channels but {names[i - 1]!r} makes {sizes[i - 1]}")
        norms = kernel_slice_norms(stored_weights(conv.weight), kernel_norm)
        blocks.append(Block(i - 1, i, norms * scale[None, :]))
    return BlockGraph(names, sizes, blocks, {"kind": "cnn"})
