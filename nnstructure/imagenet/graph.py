"""Weight graphs of the ImageNet CNNs of thesis Table A.7 (VGG, ResNet, Inception).

The construction is the general dataflow one of :mod:`nnstructure.graph.dataflow`;
this module adds reading torchvision-format state dicts, checked against the
architecture's layout, without materialising the model's weights twice.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from nnstructure.graph.blocks import BlockGraph
from nnstructure.graph.dataflow import trace_channel_flow, weight_graph_from_flow
from nnstructure.graph.kernel_norms import KERNEL_NORMS, kernel_slice_norms

__all__ = ["KERNEL_NORMS", "imagenet_weight_graph", "kernel_slice_norms"]


def _structure_and_state(model_or_state_dict, arch: str) -> tuple[nn.Module, Mapping[str, torch.Tensor]]:
    """A module to trace and the tensors to read; a state dict is checked against ``arch``'s layout."""
    from nnstructure.imagenet.models import build_imagenet_model

    if isinstance(model_or_state_dict, nn.Module):
        return model_or_state_dict, model_or_state_dict.state_dict()
    if not isinstance(model_or_state_dict, Mapping):
        raise ValueError(f"expected a torch module or a state_dict, got {type(model_or_state_dict).__name__}")
    state = model_or_state_dict
    kwargs = {"aux_logits": any(k.startswith("AuxLogits.") for k in state)} if arch == "inception_v3" else {}
    with torch.device("meta"):  # structure only: no memory for VGG's 100M classifier weights
        skeleton = build_imagenet_model(arch, **kwargs)
    expected = skeleton.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(expected[k].shape)})"
             for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise ValueError(
            f"these weights do not fit torchvision's {arch}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
            f"wrong shape {wrong[:3]}; pass a state_dict saved from torchvision.models.{arch}"
        )
    return skeleton, state


def imagenet_weight_graph(
    model_or_state_dict: nn.Module | Mapping[str, torch.Tensor],
    arch: str,
    kernel_norm: str = "l1",
    fold_batchnorm: bool = True,
) -> BlockGraph:
    """The channel graph of an ImageNet CNN (construction in the module docstring).

    ``model_or_state_dict`` is a network (its own forward pass is traced) or a
    torchvision-format state dict of ``arch`` (checked against that layout).
    ``kernel_norm`` is ``"l1"`` (thesis), ``"l1-matrix"`` (original code) or ``"l2"``.
    """
    model, state = _structure_and_state(model_or_state_dict, arch)
    with torch.no_grad():
        graph = weight_graph_from_flow(trace_channel_flow(model, state), state, kernel_norm, fold_batchnorm)
    graph.meta["arch"] = arch
    return graph
