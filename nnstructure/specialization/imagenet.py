"""ImageNet VGGs (thesis 4.4: VGG-16, VGG-19) in the chapter-4 pipeline.

A torchvision-layout VGG (:class:`nnstructure.imagenet.models.VGG`: ``features``,
``avgpool``, ``classifier``) becomes a flat ``nn.Sequential`` (:func:`vgg_as_sequential`)
that reads ``[0, 1]`` images and normalises them with the ImageNet mean and
standard deviation first, so lesions, activation graphs and feature
visualisation work on it exactly as on our own networks. Its children are
named after the original modules with ``_`` for ``.`` (``features_0``, ...).

Its weight graph is the dataflow graph of :mod:`nnstructure.imagenet.graph`
(one node group per conv layer's output channels, as read by the next layer),
renamed to those Sequential names (:func:`vgg_weight_graph`); pass it to
:func:`~nnstructure.specialization.partition.partition_network` as ``graph``.
Visualisation of ImageNet networks uses Lucid's standard transformations
(``VisualizationSettings.preset(method, imagenet=True)``).

ResNet-18 (its lesions in Tables 4.1/4.2) is not covered: its units (inputs of
consumer convolutions, some fed by skip connections) do not map onto a flat
Sequential.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from nnstructure.graph.blocks import BlockGraph

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """``(x - mean) / std`` per colour channel."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _copy(module: nn.Module) -> nn.Module:
    return nn.ReLU() if isinstance(module, nn.ReLU) else module  # in-place ReLUs would overwrite recorded activations


def vgg_as_sequential(model: nn.Module) -> nn.Sequential:
    """A flat Sequential computing ``model(normalize(x))`` for ``[0, 1]`` images ``x`` (modules shared, not copied)."""
    missing = [a for a in ("features", "avgpool", "classifier") if not hasattr(model, a)]
    if missing:
        raise ValueError(f"expected a torchvision-layout VGG (features, avgpool, classifier); the model lacks {missing}")
    items: list[tuple[str, nn.Module]] = [("normalize", Normalize())]
    items += [(f"features_{n}", _copy(m)) for n, m in model.features.named_children()]
    items += [("avgpool", model.avgpool), ("flatten", nn.Flatten())]
    items += [(f"classifier_{n}", _copy(m)) for n, m in model.classifier.named_children()]
    return nn.Sequential(OrderedDict(items)).eval()


def vgg_weight_graph(model: nn.Module, arch: str = "vgg16", kernel_norm: str = "l1") -> BlockGraph:
    """The VGG's channel graph with node layers named like :func:`vgg_as_sequential`'s conv layers."""
    from nnstructure.imagenet.graph import imagenet_weight_graph

    graph = imagenet_weight_graph(model, arch, kernel_norm=kernel_norm)
    names = []
    for group in graph.meta["groups"]:
        if len(group["producers"]) != 1:
            raise ValueError(f"node group {group['name']!r} has producers {group['producers']}; only plain VGGs are supported")
        names.append(group["producers"][0].replace(".", "_"))
    meta = {**graph.meta, "kind": "cnn", "torchvision_layer_names": list(graph.layer_names)}
    return BlockGraph(names, list(graph.layer_sizes), list(graph.blocks), meta)
