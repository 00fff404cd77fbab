import json
import math

import pytest
import torch
from torch import nn

from nnstructure.models import build_model, kernel_layers, model_spec, n_parameters

ALLOWED = (nn.Linear, nn.Conv2d, nn.BatchNorm2d, nn.BatchNorm1d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout)


@pytest.mark.parametrize("arch,shape", [("mlp", [1, 28, 28]), ("cnn", [1, 28, 28]), ("vgg", [3, 32, 32])])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_models_are_flat_sequentials_of_allowed_layers(arch, shape, dropout):
    spec = model_spec(arch, shape, 10, dropout=dropout)
    json.dumps(spec)  # must be JSON-serialisable for checkpoints
    model = build_model(spec, seed=0).eval()
    assert isinstance(model, nn.Sequential)
    assert all(isinstance(m, ALLOWED) for m in model)
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    assert any(isinstance(m, nn.Dropout) for m in model) == (dropout > 0)


def test_architecture_sizes_match_the_thesis_networks():
    mlp = build_model(model_spec("mlp", [1, 28, 28], 10))
    assert [m.out_features for m in kernel_layers(mlp)] == [256, 256, 256, 256, 10]
    assert n_parameters(mlp) == 784 * 256 + 256 + 3 * (256 * 256 + 256) + 256 * 10 + 10
    cnn = build_model(model_spec("cnn", [1, 28, 28], 10, dropout=0.5))
    convs = [m for m in cnn if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 64] and all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, nn.MaxPool2d) for m in cnn) == 2
    assert [m.p for m in cnn if isinstance(m, nn.Dropout)] == [0.25, 0.25, 0.25, 0.5]
    assert kernel_layers(cnn)[-2].in_features == 64 * 7 * 7 and kernel_layers(cnn)[-2].out_features == 128
    vgg = build_model(model_spec("vgg", [3, 32, 32], 10, dropout=0.5))
    convs = [m for m in vgg if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    # Keras cifar10vgg has 15,001,418 parameters counting BN moving mean/variance (2 x 4736 channels).
    assert n_parameters(vgg) + 2 * 4736 == 15_001_418
    rates = [m.p for m in vgg if isinstance(m, nn.Dropout)]
    assert rates == [0.3, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.5, 0.5]
    # conv -> ReLU -> BatchNorm order
    first = list(vgg)[:3]
    assert isinstance(first[0], nn.Conv2d) and isinstance(first[1], nn.ReLU) and isinstance(first[2], nn.BatchNorm2d)


def test_keras_initialisation_statistics():
    model = build_model(model_spec("cnn", [1, 28, 28], 10), seed=3)
    for layer in kernel_layers(model):
        w = layer.weight
        receptive = w[0, 0].numel() if w.dim() == 4 else 1
        fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert float(w.detach().abs().max()) <= bound
        if w.numel() > 10_000:  # uniform(-b, b): std b / sqrt(3), mean |w| b / 2
            assert float(w.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)
            assert float(w.detach().abs().mean()) == pytest.approx(bound / 2, rel=0.03)
        assert torch.count_nonzero(layer.bias) == 0
    vgg = build_model(model_spec("vgg", [3, 32, 32], 10))
    for bn in (m for m in vgg if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
        assert bn.eps == 1e-3 and bn.momentum == pytest.approx(0.01)


def test_seeded_build_is_deterministic_and_leaves_global_rng_alone():
    spec = model_spec("mlp", [20], 3, widths=[8, 8])
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a, b = build_model(spec, seed=5), build_model(spec, seed=5)
    assert torch.equal(torch.rand(1), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = build_model(spec, seed=6)
    assert not torch.equal(a[1].weight, c[1].weight)


def test_bad_specs_are_rejected_with_a_reason():
    with pytest.raises(ValueError, match="arch"):
        build_model({"arch": "resnet", "input_shape": [3], "n_outputs": 2})
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        build_model({"arch": "cnn", "input_shape": [784], "n_outputs": 10})
    with pytest.raises(ValueError, match="widths"):
        model_spec("cnn", [1, 28, 28], 10, widths=[3])
