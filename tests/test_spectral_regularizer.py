"""spectral_reg_method: the warm-started LOBPCG ('power') regulariser against the full eigendecomposition ('eigh')."""

import numpy as np
import pytest
import torch

from nnstructure.graph.weights import weight_graph
from nnstructure.models import build_model, model_spec
from nnstructure.train.config import TrainConfig, applicable_settings
from nnstructure.train.regularizers import (
    PowerEigenvalues,
    channel_adjacency,
    eigenvalue_estimator,
    laplacian_eigenvalues,
    normalized_laplacian,
    regularizer_adjacency,
    spectral_penalty,
)

EIGS = (2, 3, 4)


def _mlp(seed=0):
    return build_model(model_spec("mlp", (1, 5, 5), 4, widths=[16, 16]), seed=seed)  # 25 + 16 + 16 + 4 = 61 nodes


def _cnn(seed=0):
    return build_model(model_spec("cnn", (1, 8, 8), 10), seed=seed)  # channel graph: 3 x 64 nodes


def _grads(model, estimator):
    model.zero_grad()
    spectral_penalty(model, EIGS, "sum", estimator=estimator).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("make", [_mlp, _cnn])
def test_power_estimates_match_eigh_cold_and_warm(make):
    model = make()
    torch.manual_seed(0)
    exact = laplacian_eigenvalues(model).detach()[:4]
    est = PowerEigenvalues(4, seed=0)
    lap = normalized_laplacian(regularizer_adjacency(model))
    assert torch.allclose(est(lap).detach(), exact, atol=1e-5)
    # a small weight update: the warm start (4 iterations) still tracks the eigenvalues
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1 + 0.05 * torch.randn_like(p))
    exact = laplacian_eigenvalues(model).detach()[:4]
    warm = est(normalized_laplacian(regularizer_adjacency(model))).detach()
    assert torch.allclose(warm, exact, atol=1e-4)
    cold_4_iters = PowerEigenvalues(4, cold_iters=4, seed=0)(normalized_laplacian(regularizer_adjacency(model))).detach()
    assert (warm - exact).abs().max() < (cold_4_iters - exact).abs().max()  # the warm start is what makes 4 enough


@pytest.mark.parametrize("make", [_mlp, _cnn])
def test_power_gradient_matches_eigh(make):
    model = make()
    exact = _grads(model, None)
    approx = _grads(model, eigenvalue_estimator("power", EIGS))
    assert exact.abs().max() > 0
    # Rayleigh quotients with the Ritz vectors held fixed: the eigenvalue gradient up to the Ritz vectors' error
    assert float((approx - exact).norm() / exact.norm()) < 1e-3


def test_channel_adjacency_is_the_workflow_cnn_graph():
    model = _cnn()
    graph = weight_graph(model, kernel_norm="l1")
    expected = graph.adjacency.toarray()
    got = channel_adjacency(model).detach().numpy()
    assert got.shape == (192, 192) and np.allclose(got, got.T)
    conv2 = model[2].weight.detach().double().abs().sum(dim=(2, 3)).numpy()  # (out, in)
    assert np.allclose(got[:64, 64:128], conv2.T)
    assert np.allclose(got[:64, 128:], 0)  # conv1 and conv3 channels are not adjacent
    assert np.allclose(got, expected)


def test_power_refuses_a_graph_too_small_for_its_block():
    small = build_model(model_spec("mlp", (1, 2, 2), 2, widths=[3]), seed=0)  # 9 nodes < 3 * 8
    with pytest.raises(ValueError, match="at least 24 nodes"):
        spectral_penalty(small, EIGS, estimator=eigenvalue_estimator("power", EIGS))


def test_spectral_reg_method_setting():
    assert TrainConfig().spectral_reg_method == "eigh"
    assert TrainConfig(spectral_reg_method="power").to_dict()["spectral_reg_method"] == "power"
    with pytest.raises(ValueError, match="spectral_reg_method"):
        TrainConfig(spectral_reg_method="lanczos")
    with pytest.raises(ValueError, match="spectral_reg_method"):
        eigenvalue_estimator("lanczos")
    assert eigenvalue_estimator("eigh") is None
    # the default leaves params as they were; 'power' is recorded
    assert "spectral_reg_method" not in applicable_settings({"spectral_reg": 0.1}, "mlp")
    assert applicable_settings({"spectral_reg": 0.1, "spectral_reg_method": "power"}, "mlp")["spectral_reg_method"] == "power"
    assert "spectral_reg_method" not in applicable_settings({"spectral_reg_method": "power"}, "mlp")


def test_normalize_channels_keeps_the_function_and_sets_channel_norms():
    from nnstructure.train.regularizers import normalize_channels_

    model = _cnn(seed=3).eval()
    with torch.no_grad():
        for conv in (model[0], model[2]):
            conv.weight.mul_(torch.linspace(0.2, 3.0, conv.out_channels)[:, None, None, None])
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    before = model(x).detach()
    normalize_channels_(model)
    assert torch.allclose(model(x), before, atol=1e-5)
    for conv in [m for m in model if isinstance(m, torch.nn.Conv2d)]:
        norms = (conv.weight.pow(2).sum(dim=(1, 2, 3)) + conv.bias.pow(2)).sqrt()
        assert torch.allclose(norms, torch.full_like(norms, 2 ** 0.5), atol=1e-5)
