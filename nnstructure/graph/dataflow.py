r"""Weight graphs of CNNs with branches, skip connections and concatenations (any traceable module).

Nodes are channels (thesis §3.2.1: "the 'neurons' we use are channels of the
hidden layers—we omit the input layer and fully-connected layers"). Because a
tensor may feed several layers, we follow §4.3.1, footnote 1 ("If a unit is used
as inputs to multiple layers, as happens in ResNets with skip connections, we
consider these inputs to be separate neurons") and the construction of the
original code (``get_conv_weight_connections`` in Filan et al.'s
``src/spectral_cluster_model.py``):

* **One node group per consumer input.** Every convolution and the first
  fully-connected layer (the *consumers*) gets its own copy of the channels it
  reads. The image (the input of the stem convolution) is omitted, and so are
  the outputs of fully-connected layers, so the channels of the last conv
  layer appear once, as the input group of the classifier.
* **Edge blocks are conv kernels.** A conv ``P`` reading node
  group ``in(P)`` and writing a tensor read by consumers ``C1, C2, ...`` gives
  one edge block ``in(P) -> in(Ci)`` per consumer, each equal to
  ``A_P[i, j] = ||W_P[j, i, :, :]||`` (output channel ``j``, input channel
  ``i``) — copies of the same matrix, shuffled independently by a layer shuffle.
* **Pass-through operations** (ReLU, max/avg pooling, dropout, flatten) keep
  channels and add no edges.
* **Addition** (ResNet ``relu(bn(conv(x)) + identity)``): the sum's channel
  ``c`` is fed by channel ``c`` of every summand, so each summand's producer
  conv gets a block into the consumer's group. An identity shortcut thus
  carries a conv's output past the next block: in ResNet-18, ``layer1.0.conv2``
  has blocks into ``layer1.1.conv1.input``, ``layer2.0.conv1.input`` and
  ``layer2.0.downsample.0.input``.
* **Concatenation** (Inception): a consumer reading ``cat([a, b, ...])`` gets
  one node group per concatenated part (named ``<consumer>.input[start:stop]``),
  and its own outgoing block is split by rows accordingly, exactly as the
  original ``expand_concat_step`` does. This keeps every block a full matrix
  between two whole groups, so a layer shuffle (permute within each block)
  never moves weight onto a non-edge.
* **Batch norm** after conv ``P`` (on the path from ``P`` to a consumer) is
  folded into ``P``'s blocks by multiplying output-channel column ``j`` of
  ``A_P`` by ``gamma_j / sqrt(running_var_j + eps)`` (thesis: "divide weights
  by the moving standard deviation and multiply them by the scaling factor γ";
  ``eps`` is the layer's own, 1e-5 for ResNet, 1e-3 for Inception). The
  factor is taken in absolute value so edge weights stay non-negative (γ of
  trained networks can be negative; ``|γ|`` is what scales the edge's
  influence; the original ImageNet code multiplied by the signed γ, which can
  give negative affinities). With ``fold_batchnorm=False`` it is skipped.

ResNet basic block ``k`` (``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``), read
by block ``k+1``; nodes ``[...]``, edge blocks ``==A==>``, ``P`` = each conv whose
output is summed into ``x``::

    [P.input] ==A_P==> [k.conv1.input]                    x, copy read by conv1
    [P.input] ==A_P==> [k+1.conv1.input]                  x, via the identity shortcut
    [k.conv1.input] ==A_conv1 * bn1==> [k.conv2.input]
    [k.conv2.input] ==A_conv2 * bn2==> [k+1.conv1.input]  the sum's other summand

Inception concat ``y = cat([b1, b2])`` read by conv ``C``::

    [b1-conv.input] ==A_b1==> [C.input[0:n1]]  ==A_C[0:n1, :]==>     ...
    [b2-conv.input] ==A_b2==> [C.input[n1:n1+n2]] ==A_C[n1:, :]==> ...

The dataflow is read from a ``torch.fx`` trace of the network in eval mode, so
the construction follows the forward pass (Inception's auxiliary head, which
only runs in training, is excluded, as in the Keras models the thesis used).

Kernel norms: ``"l1"`` (default) is the sum of absolute kernel entries, as the
thesis text says; ``"l1-matrix"`` is ``numpy.linalg.norm(slice, 1)`` (maximum
absolute column sum of the kh x kw slice), which is what the original code
computed; ``"l2"`` is the Frobenius norm (thesis footnote 2).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from nnstructure.graph.blocks import Block, BlockGraph
from nnstructure.graph.kernel_norms import check_kernel_norm, kernel_slice_norms
from nnstructure.graph.stored_weights import stored_weights


_IMAGE = "<image>"
_LINEAR = "<linear>"

_PASS_MODULES = (
    nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
    nn.Dropout, nn.Identity, nn.Flatten,
)
_PASS_FUNCTIONS = {
    F.relu, torch.relu, F.max_pool2d, torch.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d, torch.flatten, F.dropout,
}
_PASS_METHODS = {"relu", "relu_", "flatten", "contiguous"}
_ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}


@dataclass
class _Slice:
    """A run of channels that are all fed by the same producers (summed)."""

    size: int | None  # None for the image, whose channel count no conv needs checking against
    sources: tuple[tuple[str, np.ndarray | None], ...]  # (producer, accumulated BN factor per channel)


@dataclass
class ChannelFlow:
    """What each consumer layer reads: its input as slices of producers' outputs."""

    consumers: list[tuple[str, str, list[_Slice]]]  # (module name, "conv"|"linear", input slices)
    conv_out_channels: dict[str, int]


def trace_channel_flow(model: nn.Module, state: Mapping[str, torch.Tensor]) -> ChannelFlow:
    """Follow channels through ``model``'s eval-mode forward pass (BN factors from ``state``)."""
    was_training = model.training
    model.eval()
    try:
        fx_graph = torch.fx.symbolic_trace(model).graph
    finally:
        model.train(was_training)

    values: dict[torch.fx.Node, object] = {}
    consumers: list[tuple[str, str, list[_Slice]]] = []
    conv_out: dict[str, int] = {}

    def val(arg):
        return torch.fx.node.map_arg(arg, lambda n: values[n])

    for node in fx_graph.nodes:
        if node.op == "placeholder":
            values[node] = [_Slice(None, ((_IMAGE, None),))]
        elif node.op == "output":
            continue
        elif node.op == "call_module":
            module = model.get_submodule(node.target)
            x = val(node.args[0])
            if isinstance(module, nn.Conv2d):
                if module.groups != 1:
                    raise ValueError(f"{node.target}: grouped/depthwise convolutions are not supported by the weight graph")
                _check_channels(node.target, x, module.in_channels)
                consumers.append((node.target, "conv", x))
                conv_out[node.target] = module.out_channels
                values[node] = [_Slice(module.out_channels, ((node.target, None),))]
            elif isinstance(module, nn.Linear):
                consumers.append((node.target, "linear", x))
                values[node] = [_Slice(module.out_features, ((_LINEAR, None),))]
            elif isinstance(module, nn.BatchNorm2d):
                values[node] = _scale(x, _batchnorm_factor(node.target, module, state))
            elif isinstance(module, _PASS_MODULES):
                values[node] = x
            else:
                raise ValueError(f"{node.target}: module type {type(module).__name__} is not supported by the weight graph")
        elif node.op == "call_function":
            if node.target in _PASS_FUNCTIONS:
                values[node] = val(node.args[0])
            elif node.target in _ADD_FUNCTIONS:
                a, b = val(node.args[0]), val(node.args[1])
                values[node] = _add(a, b) if isinstance(a, list) and isinstance(b, list) else (a if isinstance(a, list) else b)
            elif node.target is torch.cat:
                dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
                if dim != 1:
                    raise ValueError(f"{node.name}: concatenation along dim {dim}; only channel concatenation (dim=1) is supported")
                values[node] = [s for part in val(node.args[0]) for s in part]
            else:
                raise ValueError(f"{node.name}: function {node.target} is not supported by the weight graph")
        elif node.op == "call_method" and node.target in _PASS_METHODS:
            values[node] = val(node.args[0])
        else:
            raise ValueError(f"{node.name}: {node.op} {node.target} is not supported by the weight graph")
    return ChannelFlow(consumers, conv_out)


def _check_channels(name: str, slices: list[_Slice], expected: int) -> None:
    if any(s.size is None for s in slices):
        return
    got = sum(s.size for s in slices)
    if got != expected:
        raise ValueError(f"{name}: traced {got} input channels but the layer has {expected}")


def _batchnorm_factor(name: str, bn: nn.BatchNorm2d, state: Mapping[str, torch.Tensor]) -> np.ndarray:
    """|gamma| / sqrt(running_var + eps) of batch-norm layer ``name``."""
    if not bn.track_running_stats:
        raise ValueError(f"{name}: batch norm without running statistics cannot be folded into the weights")
    var = _array(state, f"{name}.running_var")
    gamma = np.abs(_array(state, f"{name}.weight")) if bn.affine else np.ones_like(var)
    return gamma / np.sqrt(var + bn.eps)


def _scale(slices: list[_Slice], factor: np.ndarray) -> list[_Slice]:
    out, start = [], 0
    for s in slices:
        if s.size is None:
            return slices  # normalisation of the image itself: nothing to fold
        f = factor[start : start + s.size]
        start += s.size
        out.append(_Slice(s.size, tuple((p, f if sc is None else sc * f) for p, sc in s.sources)))
    return out


def _add(a: list[_Slice], b: list[_Slice]) -> list[_Slice]:
    if len(a) != len(b) or any(x.size != y.size for x, y in zip(a, b)):
        raise ValueError(
            "addition of tensors whose channel groups do not line up "
            f"({[s.size for s in a]} vs {[s.size for s in b]}) is not supported by the weight graph"
        )
    return [_Slice(x.size, x.sources + y.sources) for x, y in zip(a, b)]


def _array(state: Mapping[str, torch.Tensor], key: str) -> np.ndarray:
    if key not in state:
        raise ValueError(f"the weights lack {key!r}; pass the state_dict of the matching architecture")
    return state[key].detach().to("cpu", torch.float64).numpy()


def weight_graph_from_flow(
    flow: ChannelFlow, state: Mapping[str, torch.Tensor], kernel_norm: str = "l1", fold_batchnorm: bool = True
) -> BlockGraph:
    """Assemble node groups and edge blocks (see the module docstring) from a traced channel flow."""
    check_kernel_norm(kernel_norm)
    names, sizes, groups_meta = [], [], []
    input_groups: dict[str, list[tuple[int, int, int]]] = {}  # consumer -> [(group index, start, stop)]
    incoming: list[tuple[int, tuple[tuple[str, np.ndarray | None], ...]]] = []
    for consumer, kind, slices in flow.consumers:
        producers_of = [tuple(p for p, _ in s.sources) for s in slices]
        if any(_IMAGE in ps for ps in producers_of):
            if any(p != _IMAGE for ps in producers_of for p in ps):
                raise ValueError(f"{consumer}: reads the image mixed with hidden channels, which the graph cannot represent")
            continue  # the stem convolution: image channels are not nodes
        if kind == "linear" and any(_LINEAR in ps for ps in producers_of):
            continue  # a fully-connected layer after another: its input is not conv channels
        input_groups[consumer] = []
        start = 0
        for s, ps in zip(slices, producers_of):
            idx = len(names)
            stop = start + s.size
            names.append(consumer + (".input" if len(slices) == 1 else f".input[{start}:{stop}]"))
            sizes.append(s.size)
            groups_meta.append({"name": names[-1], "consumer": consumer, "channels": [start, stop], "producers": list(ps)})
            input_groups[consumer].append((idx, start, stop))
            incoming.append((idx, s.sources))
            start = stop

    norms: dict[str, np.ndarray] = {}
    blocks: list[Block] = []
    for dst, sources in incoming:
        for producer, factor in sources:
            if producer not in input_groups:
                continue  # the stem conv: its inputs (the image) are not nodes
            if producer not in norms:
                norms[producer] = kernel_slice_norms(stored_weights(_array(state, f"{producer}.weight")), kernel_norm)
            a = norms[producer]
            if fold_batchnorm and factor is not None:
                a = a * factor[None, :]
            for src, start, stop in input_groups[producer]:
                blocks.append(Block(src, dst, a[start:stop]))
    meta = {"kernel_norm": kernel_norm, "fold_batchnorm": fold_batchnorm, "groups": groups_meta}
    return BlockGraph(names, sizes, blocks, meta)


def dataflow_weight_graph(model: nn.Module, kernel_norm: str = "l1", fold_batchnorm: bool = True) -> BlockGraph:
    """The channel graph of any ``torch.fx``-traceable CNN, read from its forward pass (module docstring).

    Used for networks that are not a flat ``nn.Sequential`` (ResNets, Inception,
    torchvision-style VGGs); :func:`nnstructure.graph.weight_graph` dispatches here.
    """
    state = model.state_dict()
    with torch.no_grad():
        graph = weight_graph_from_flow(trace_channel_flow(model, state), state, kernel_norm, fold_batchnorm)
    graph.meta.setdefault("kind", "dataflow")
    return graph
