"""Clusterable initialisation (thesis 3.5.2).

After the normal initialisation every unit gets one of ``c`` random tags; each
weight between two tagged units is multiplied by ``beta`` if their tags differ
and by ``1 + (1 - beta)(c - 1)`` if they agree. A fraction ``1/c`` of pairs
agree in expectation, so each layer's expected mean ``|w|`` is unchanged.

Which layers are touched follows the thesis code (``create_model`` in
``src/train_nn.py`` of github.com/dfilan/clusterability_in_neural_networks):

* **MLP**: "the first layer is left alone" (input pixels carry no tag); every
  later Linear layer is scaled, the output layer included. Outputs are tagged
  by class index (output ``j`` gets tag ``j``) when ``n_outputs <= c``, randomly
  otherwise.
* **CNN / VGG**: only conv layers after the first are scaled, whole 3x3 kernel
  slices between channels; dense layers are left alone.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_BETA = {"mlp": 0.6, "cnn": 0.8, "vgg": 0.8}


def _scale_(weight: torch.Tensor, in_tags: torch.Tensor, out_tags: torch.Tensor, same: float, beta: float) -> None:
    factor = torch.where(out_tags[:, None] == in_tags[None, :], same, beta).to(weight)
    weight.mul_(factor.reshape(factor.shape + (1,) * (weight.dim() - 2)))


@torch.no_grad()
def clusterable_init_(model: nn.Sequential, groups: int, beta: float, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Apply clusterable initialisation in place; return the tags of each tagged layer of units, in order."""
    same = 1.0 + (1.0 - beta) * (groups - 1)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    if convs:
        tags = [torch.randint(groups, (conv.out_channels,), generator=generator) for conv in convs]
        for i in range(1, len(convs)):
            _scale_(convs[i].weight, tags[i - 1], tags[i], same, beta)
        return tags
    linears = [m for m in model if isinstance(m, nn.Linear)]
    tags = [torch.randint(groups, (layer.out_features,), generator=generator) for layer in linears[:-1]]
    n_out = linears[-1].out_features
    tags.append(torch.arange(n_out) if n_out <= groups else torch.randint(groups, (n_out,), generator=generator))
    for i in range(1, len(linears)):
        _scale_(linears[i].weight, tags[i - 1], tags[i], same, beta)
    return tags
