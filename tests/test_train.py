import json
import math

import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph
import torch
from torch import nn

from nnstructure.checkpoint import load_checkpoint
from nnstructure.data.dataset import Dataset, save_dataset
from nnstructure.models import build_model, kernel_layers, model_spec
from nnstructure.seeding import derive_seed
from nnstructure.train import TrainConfig, evaluate, train_network
from nnstructure.train.augment import augment_batch
from nnstructure.train.clusterable_init import clusterable_init_
from nnstructure.train.pruning import MagnitudePruner, PolynomialDecay, kernel_sparsity, magnitude_mask
from nnstructure.train.regularizers import (
    laplacian_eigenvalues,
    normalize_hidden_units_,
    spectral_penalty,
    weight_adjacency,
    weight_penalty,
)


def toy_images(n_train=256, n_test=64, seed=0) -> Dataset:
    """8x8 images whose class says which half (top/bottom) is brighter: easily learnable."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    y = rng.integers(0, 2, n).astype(np.int64)
    x = rng.integers(0, 180, (n, 1, 8, 8))
    x[y == 1, :, :4] += 70
    x[y == 0, :, 4:] += 70
    x = x.astype(np.uint8)
    return Dataset("toy", x[:n_train], y[:n_train], x[n_train:], y[n_train:], n_classes=2)


# --- pruning schedule ---------------------------------------------------------

def test_polynomial_decay_matches_tfmot_formula():
    s = PolynomialDecay(0.5, 0.9, begin_step=0, end_step=100, power=3, frequency=10)
    assert s.sparsity(0) == pytest.approx(0.5)
    assert s.sparsity(50) == pytest.approx(0.9 - 0.4 * 0.5**3)  # 0.85
    assert s.sparsity(90) == pytest.approx(0.9 - 0.4 * 0.1**3)
    assert s.sparsity(100) == pytest.approx(0.9) and s.sparsity(500) == pytest.approx(0.9)
    assert [t for t in range(0, 130) if s.should_prune(t)] == list(range(0, 101, 10))
    shifted = PolynomialDecay(0.5, 0.9, begin_step=5, end_step=25, power=3, frequency=10)
    assert [t for t in range(40) if shifted.should_prune(t)] == [5, 15, 25]
    assert shifted.sparsity(0) == pytest.approx(0.5) and shifted.sparsity(15) == pytest.approx(0.85)


def test_magnitude_mask_keeps_largest_magnitudes_with_tfmot_rounding():
    w = torch.tensor([[0.1, -0.5], [0.3, 0.2]])
    assert magnitude_mask(w, 0.5).tolist() == [[False, True], [True, False]]
    # k = max(round(4 * 0.1), 1) = 1: only the largest survives
    assert magnitude_mask(w, 0.9).sum() == 1
    big = torch.randn(37, 11)
    assert int((~magnitude_mask(big, 0.9)).sum()) == 37 * 11 - round(37 * 11 * 0.1)


def test_pruning_reaches_final_sparsity_and_pruned_weights_stay_zero():
    torch.manual_seed(0)
    model = build_model(model_spec("mlp", [12], 3, widths=[40, 30]), seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    pruner = MagnitudePruner(model, PolynomialDecay(0.5, 0.9, 0, 60, 3, 10))
    x, y = torch.randn(64, 12), torch.randint(3, (64,))
    previous = None
    for step in range(80):
        pruner.before_step(step)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        pruner.apply()
        zero = {k: (p == 0) for k, p in pruner.params.items()}
        if previous is not None:  # once pruned, a weight stays exactly zero
            assert all(torch.all(zero[k] | ~previous[k]) for k in zero)
        previous = zero
        if step == 0:
            assert kernel_sparsity(model) == pytest.approx(0.5, abs=0.01)
    for layer in kernel_layers(model):
        n = layer.weight.numel()
        assert int((layer.weight == 0).sum()) == n - round(n * 0.1)
    assert torch.count_nonzero(model[1].bias) > 0  # biases are not pruned


# --- regularisers -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_weight_penalty_gradients_are_keras_style(kind):
    model = build_model(model_spec("cnn", [1, 8, 8], 2), seed=2)
    coeff = 5e-5
    penalty = weight_penalty(model, l1=coeff if kind == "l1" else 0.0, l2=coeff if kind == "l2" else 0.0)
    penalty.backward()
    for layer in kernel_layers(model):
        w = layer.weight.detach()
        expected = coeff * torch.sign(w) if kind == "l1" else 2 * coeff * w
        assert torch.allclose(layer.weight.grad, expected, rtol=1e-5, atol=1e-12)
        assert layer.bias.grad is None
    expected_value = sum(float(l.weight.detach().abs().sum() if kind == "l1" else l.weight.detach().pow(2).sum()) for l in kernel_layers(model)) * coeff
    assert float(penalty) == pytest.approx(expected_value, rel=1e-5)


def test_laplacian_eigenvalues_match_scipy():
    model = build_model(model_spec("mlp", [5], 3, widths=[4, 4]), seed=4)
    adj = weight_adjacency(model).detach().numpy()
    assert adj.shape == (16, 16) and np.allclose(adj, adj.T)
    assert np.allclose(adj[:5, 5:9], np.abs(model[1].weight.detach().numpy().T))
    expected = np.linalg.eigvalsh(csgraph.laplacian(adj, normed=True))
    ours = laplacian_eigenvalues(model).detach().numpy()
    assert np.allclose(ours, expected, atol=1e-10)
    assert abs(ours[0]) < 1e-10


def test_spectral_regularizer_lowers_lambda_2_to_4():
    model = build_model(model_spec("mlp", [6], 3, widths=[8, 8]), seed=5)
    before = float(spectral_penalty(model))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        spectral_penalty(model, (2, 3, 4)).backward()
        opt.step()
        normalize_hidden_units_(model)
    after = float(spectral_penalty(model))
    assert after < 0.8 * before


def test_algorithm2_normalisation_preserves_the_function():
    model = build_model(model_spec("mlp", [10], 4, widths=[16, 16, 16]), seed=6)
    with torch.no_grad():
        model[3].weight.mul_(7.0)
        model[3].bias.add_(0.3)
        model[1].weight[2].zero_()
        model[1].bias[2] = 0.0  # a dead unit (x = 0 in Algorithm 2)
    x = torch.randn(32, 10)
    before = model(x)
    normalize_hidden_units_(model)
    assert torch.allclose(model(x), before, atol=1e-5)
    linears = kernel_layers(model)
    for layer in linears[:-1]:
        norms = torch.cat([layer.weight, layer.bias[:, None]], dim=1).norm(dim=1)
        alive = norms > 0
        assert torch.allclose(norms[alive], torch.full_like(norms[alive], math.sqrt(2)), atol=1e-5)


# --- clusterable initialisation -----------------------------------------------

def test_clusterable_init_preserves_mean_abs_weight_per_layer():
    spec = model_spec("mlp", [50], 10, widths=[600, 600, 600])
    plain = build_model(spec, seed=7)
    clustered = build_model(spec, seed=7)
    tags = clusterable_init_(clustered, groups=10, beta=0.6, generator=torch.Generator().manual_seed(0))
    a, b = kernel_layers(plain), kernel_layers(clustered)
    assert torch.equal(a[0].weight, b[0].weight)  # the first layer is left alone
    assert torch.equal(tags[-1], torch.arange(10))  # outputs tagged by class
    for i in range(1, len(a)):
        ratio = float(b[i].weight.abs().mean() / a[i].weight.abs().mean())
        assert ratio == pytest.approx(1.0, abs=0.03)
        factor = (b[i].weight / a[i].weight).detach()
        same = tags[i][:, None] == tags[i - 1][None, :]
        assert torch.allclose(factor[same], torch.tensor(1 + 0.4 * 9)) and torch.allclose(factor[~same], torch.tensor(0.6))


def test_clusterable_init_on_cnn_scales_whole_kernel_slices_of_later_convs():
    spec = model_spec("cnn", [1, 28, 28], 10)
    plain, clustered = build_model(spec, seed=8), build_model(spec, seed=8)
    tags = clusterable_init_(clustered, groups=10, beta=0.8, generator=torch.Generator().manual_seed(1))
    convs_a = [m for m in plain if isinstance(m, nn.Conv2d)]
    convs_b = [m for m in clustered if isinstance(m, nn.Conv2d)]
    assert torch.equal(convs_a[0].weight, convs_b[0].weight)
    assert torch.equal(kernel_layers(plain)[-1].weight, kernel_layers(clustered)[-1].weight)
    factor = (convs_b[1].weight / convs_a[1].weight).detach()
    same = tags[1][:, None] == tags[0][None, :]
    assert torch.allclose(factor[same], torch.tensor(1 + 0.2 * 9)) and torch.allclose(factor[~same], torch.tensor(0.8))
    assert float(convs_b[2].weight.abs().mean() / convs_a[2].weight.abs().mean()) == pytest.approx(1.0, abs=0.05)


# --- augmentation -------------------------------------------------------------

def test_augmentation_without_rotation_or_shift_only_flips():
    x = torch.rand(16, 3, 8, 8)
    out = augment_batch(x, torch.Generator().manual_seed(0), max_degrees=0.0, max_shift=0.0)
    flipped = [torch.allclose(o, xi.flip(-1), atol=1e-5) for o, xi in zip(out, x)]
    same = [torch.allclose(o, xi, atol=1e-5) for o, xi in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)
    moved = augment_batch(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x)


# --- training loop ------------------------------------------------------------

def test_training_learns_prunes_and_writes_checkpoints(tmp_path):
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[32, 32])
    cfg = TrainConfig(epochs=4, prune_epochs=4, batch_size=16)
    meta = train_network(ds, spec, cfg, 0, tmp_path / "m.pt", unpruned_out=tmp_path / "u.pt", log=tmp_path / "log.parquet", progress=False)
    assert meta["phase"] == "pruned" and meta["train_accuracy"] > 0.8
    # 16 steps/epoch, end_step 64, last mask update at step 60: sparsity 0.9 - 0.4 * (4/64)**3
    assert meta["sparsity"] == pytest.approx(0.9 - 0.4 * (4 / 64) ** 3, abs=2e-3)
    unpruned = load_checkpoint(tmp_path / "u.pt")
    assert unpruned.metadata["phase"] == "unpruned" and unpruned.metadata["sparsity"] == 0.0
    final = load_checkpoint(tmp_path / "m.pt")
    assert set(final.masks) == {"1.weight", "3.weight", "5.weight"}
    assert all(torch.equal(final.model.get_parameter(k) == 0, ~m) for k, m in final.masks.items())
    import pandas as pd

    log = pd.read_parquet(tmp_path / "log.parquet")
    assert list(log["epoch"]) == list(range(1, 9)) and list(log["phase"]) == ["unpruned"] * 4 + ["pruning"] * 4
    assert not (tmp_path / "m.pt.partial").exists()
    assert evaluate(final.model, ds)["test_accuracy"] == pytest.approx(meta["test_accuracy"])


def test_zero_epochs_gives_the_initial_network(tmp_path):
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[16])
    meta = train_network(ds, spec, TrainConfig(epochs=0, prune_epochs=0), 3, tmp_path / "m.pt", progress=False)
    assert meta["phase"] == "init" and meta["metrics"] == []
    ck = load_checkpoint(tmp_path / "m.pt")
    init = build_model(spec, seed=derive_seed(3, "init"))
    assert all(torch.equal(p, q) for p, q in zip(ck.model.parameters(), init.parameters()))
    # its accuracies are the initial network's, counted by hand: argmax of the logits of x / 255
    for split in ("train", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        with torch.no_grad():
            predicted = init(torch.from_numpy(x).float() / 255).argmax(1).numpy()
        assert meta[f"{split}_accuracy"] == pytest.approx(np.count_nonzero(predicted == y) / len(y))


class _Killed(Exception):
    pass


@pytest.mark.parametrize("kill_after_epoch", [1, 2, 3])  # mid unpruned phase, at the boundary, mid pruning
def test_resumed_run_equals_uninterrupted_run(tmp_path, kill_after_epoch):
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[16, 16], dropout=0.2)
    cfg = TrainConfig(epochs=2, prune_epochs=3, batch_size=32, l2=1e-4)
    train_network(ds, spec, cfg, 11, tmp_path / "full.pt", progress=False)

    def kill(epoch, _row):
        if epoch == kill_after_epoch:
            raise _Killed

    out = tmp_path / "resumed.pt"
    with pytest.raises(_Killed):
        train_network(ds, spec, cfg, 11, out, unpruned_out=tmp_path / "u.pt", progress=False, epoch_callback=kill)
    assert (tmp_path / "resumed.pt.partial").exists() and not out.exists()
    epochs_seen = []
    meta = train_network(ds, spec, cfg, 11, out, unpruned_out=tmp_path / "u.pt", progress=False,
                         epoch_callback=lambda e, r: epochs_seen.append(e))
    assert epochs_seen == list(range(kill_after_epoch + 1, 5))
    assert len(meta["metrics"]) == 5
    full, resumed = load_checkpoint(tmp_path / "full.pt"), load_checkpoint(out)
    for (name, p), q in zip(full.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(p, q), name
    assert not (tmp_path / "resumed.pt.partial").exists()


def test_resume_state_of_a_different_config_is_ignored(tmp_path):
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[8])

    def kill(epoch, _row):
        raise _Killed

    with pytest.raises(_Killed):
        train_network(ds, spec, TrainConfig(epochs=2, prune_epochs=0), 0, tmp_path / "m.pt", progress=False, epoch_callback=kill)
    with pytest.warns(UserWarning, match="different run configuration"):
        meta = train_network(ds, spec, TrainConfig(epochs=3, prune_epochs=0), 0, tmp_path / "m.pt", progress=False)
    assert len(meta["metrics"]) == 3


def test_regression_and_spectral_regularised_training(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = np.stack([x[:, 0] * x[:, 1], x[:, 0] ** 2], axis=1).astype(np.float32)
    ds = Dataset("poly", x[:160], y[:160], x[160:], y[160:], task="regression", n_classes=None)
    spec = model_spec("mlp", [2], 2, widths=[8, 8])
    cfg = TrainConfig(epochs=2, prune_epochs=1, batch_size=32, spectral_reg=0.1)
    meta = train_network(ds, spec, cfg, 0, tmp_path / "m.pt", progress=False)
    assert meta["test_accuracy"] is None and meta["metrics"][-1]["train_loss"] < meta["metrics"][0]["train_loss"] + 1.0
    model = load_checkpoint(tmp_path / "m.pt").model
    norms = torch.cat([model[1].weight, model[1].bias[:, None]], dim=1).norm(dim=1)
    assert torch.allclose(norms[norms > 0], torch.tensor(math.sqrt(2)), atol=1e-4)


def test_power_spectral_regularised_cnn_trains_and_renormalises_channels(tmp_path):
    cfg = TrainConfig(epochs=1, prune_epochs=0, batch_size=64, spectral_reg=0.1, spectral_reg_method="power")
    meta = train_network(toy_images(), model_spec("cnn", [1, 8, 8], 2), cfg, 0, tmp_path / "c.pt", progress=False)
    assert meta["train_config"]["spectral_reg_method"] == "power"
    model = load_checkpoint(tmp_path / "c.pt").model
    conv = model[0]
    norms = (conv.weight.pow(2).sum(dim=(1, 2, 3)) + conv.bias.pow(2)).sqrt()
    assert torch.allclose(norms, torch.tensor(math.sqrt(2)), atol=1e-4)


# --- command line -------------------------------------------------------------

def test_cli_train_then_evaluate_json(tmp_path, capsys):
    from nnstructure.cli import main

    ds = toy_images()
    save_dataset(ds, tmp_path / "toy.npz")
    rc = main(["train", "--arch", "cnn", "--dataset", str(tmp_path / "toy.npz"), "--epochs", "1", "--prune-epochs", "1",
               "--batch-size", "64", "--dropout", "0.5", "--clusterable-init", "--seed", "2", "--quiet",
               "--out", str(tmp_path / "m.pt"), "--unpruned-out", str(tmp_path / "u.pt"), "--log", str(tmp_path / "log.parquet")])
    assert rc == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "m.pt"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("train_accuracy", "test_accuracy", "train_loss", "test_loss", "sparsity", "n_parameters"):
        assert key in result
    # 4 steps/epoch < frequency 10: only the first pruning step updates masks, at initial sparsity 0.5
    assert result["sparsity"] == pytest.approx(0.5, abs=0.01) and result["phase"] == "pruned"
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.metadata["train_config"]["clusterable_init"] and ck.metadata["spec"]["arch"] == "cnn"
    assert main(["evaluate", str(tmp_path / "missing.pt")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_train_from_settings_splits_model_and_training_keys(tmp_path):
    from nnstructure.train import train_from_settings

    ds = toy_images()
    settings = {"epochs": 1, "prune_epochs": 1, "batch_size": 64, "dropout": 0.5, "widths": [12, 12], "l1": 5e-5}
    meta = train_from_settings(ds, "mlp", settings, 4, tmp_path / "m.pt", unpruned_out=tmp_path / "u.pt", progress=False)
    assert meta["spec"]["widths"] == [12, 12] and meta["spec"]["dropout"] == 0.5
    assert meta["train_config"]["l1"] == 5e-5 and meta["train_config"]["batch_size"] == 64
    with pytest.raises(ValueError, match="unknown training setting"):
        train_from_settings(ds, "mlp", {"epochs": 1, "prune_epochs": 0, "bogus": 1}, 4, tmp_path / "x.pt", progress=False)


def test_spectral_penalty_reduction_sum_is_thesis_text_and_mean_is_original_code():
    from nnstructure.models import build_model, model_spec
    from nnstructure.train.regularizers import laplacian_eigenvalues, spectral_penalty

    model = build_model(model_spec("mlp", [1, 3, 3], 3, widths=[5, 4]), seed=0)
    lam = laplacian_eigenvalues(model)
    total = spectral_penalty(model, (2, 3, 4), "sum")
    assert float(total) == pytest.approx(float(lam[1] + lam[2] + lam[3]), rel=1e-6)
    assert float(spectral_penalty(model, (2, 3, 4), "mean")) == pytest.approx(float(total) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="'sum' or 'mean'"):
        spectral_penalty(model, (2, 3, 4), "max")


def test_original_code_first_layer_l1_variant_of_l2():
    from nnstructure.models import build_model, kernel_layers, model_spec
    from nnstructure.train.regularizers import weight_penalty

    model = build_model(model_spec("mlp", [1, 3, 3], 3, widths=[5, 4]), seed=0)
    first, *rest = kernel_layers(model)
    l2 = 1e-3
    text = weight_penalty(model, 0.0, l2)
    original = weight_penalty(model, 0.0, l2, first_layer_l1=True)
    assert float(text) == pytest.approx(l2 * sum(float(m.weight.pow(2).sum()) for m in [first, *rest]), rel=1e-6)
    assert float(original) == pytest.approx(
        l2 * (float(first.weight.abs().sum()) + sum(float(m.weight.pow(2).sum()) for m in rest)), rel=1e-6
    )


def _one_adam_step(model, pruner, seed=0):
    """One data-loss Adam step as the training loop takes it (masks applied before the step); returns the optimizer."""
    from nnstructure.train.regularizers import UnmaskedKernels

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(32, 1, 4, 4, generator=gen)
    y = torch.randint(0, 3, (32,), generator=gen)
    if pruner is not None:
        pruner.before_step(0)
    unmasked = UnmaskedKernels(model, pruner)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    unmasked.record()
    if pruner is not None:
        pruner.apply()
    return unmasked


def test_spectral_reads_unmasked_differs_only_on_a_pruned_net():
    """Pruned: the masked entries hold the last Adam update in TF-MOT's kernel variable, so the regulariser that
    reads it sees another graph; unpruned: both settings read the same kernels."""
    spec = model_spec("mlp", [1, 4, 4], 3, widths=[8, 8])
    pruned = build_model(spec, seed=3)
    pruner = MagnitudePruner(pruned, PolynomialDecay(0.8, 0.8, 0, 10, 3, 10))
    unmasked = _one_adam_step(pruned, pruner)
    for layer, residual, mask in zip(kernel_layers(pruned), unmasked.residuals(), pruner.masks.values()):
        assert torch.all(layer.weight[~mask] == 0)  # the pruned kernel is exactly sparse
        assert torch.all(residual[mask] == 0)
        # Adam's first step moves every entry with a gradient (a dead unit's have none) by lr in size
        moved = residual[~mask][residual[~mask] != 0].abs()
        assert len(moved) > 0 and torch.allclose(moved, torch.full_like(moved, 1e-2), rtol=1e-3)
    masked = float(spectral_penalty(pruned))
    read_unmasked = float(spectral_penalty(pruned, unmasked=unmasked))
    assert abs(read_unmasked - masked) > 1e-3

    unpruned = build_model(spec, seed=3)
    unmasked = _one_adam_step(unpruned, None)
    assert float(spectral_penalty(unpruned, unmasked=unmasked)) == float(spectral_penalty(unpruned))


def test_spectral_reads_unmasked_is_a_recorded_setting_of_spectral_pruning_only():
    from nnstructure.train.config import applicable_settings

    assert TrainConfig().spectral_reads_unmasked is False  # default: the regulariser reads the pruned kernels
    assert TrainConfig(spectral_reads_unmasked=True).to_dict()["spectral_reads_unmasked"] is True
    spectral = {"spectral_reg": 0.1, "prune_epochs": 10}
    assert applicable_settings(spectral, "mlp")["spectral_reads_unmasked"] is False
    assert "spectral_reads_unmasked" not in applicable_settings({**spectral, "prune_epochs": 0}, "mlp")
    assert "spectral_reads_unmasked" not in applicable_settings({"prune_epochs": 10}, "mlp")


def test_spectral_reads_unmasked_changes_the_training_of_a_pruned_spectral_net(tmp_path):
    """The training loop passes the switch to the regulariser: the same seed and data give other pruned weights
    with it on (the regulariser read TF-MOT's kernels), and the unpruned phase is the same."""
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[16, 16])
    weights = []
    for switch in (False, True):
        cfg = TrainConfig(epochs=1, prune_epochs=2, batch_size=16, spectral_reg=1.0, spectral_reads_unmasked=switch)
        train_network(ds, spec, cfg, 0, tmp_path / f"m{switch}.pt", unpruned_out=tmp_path / f"u{switch}.pt",
                      progress=False)
        weights.append([load_checkpoint(tmp_path / f"{name}{switch}.pt").model.state_dict() for name in ("u", "m")])
    (u0, m0), (u1, m1) = weights
    assert all(torch.equal(u0[k], u1[k]) for k in u0)  # no pruning yet: both settings read the same kernels
    assert any(not torch.equal(m0[k], m1[k]) for k in m0)


def test_cosine_lr_schedule_anneals_the_unpruned_epochs_and_is_recorded_only_when_set():
    from nnstructure.train.config import applicable_settings

    cfg = TrainConfig(epochs=4, prune_epochs=2, lr=0.002, lr_schedule="cosine")
    assert [cfg.lr_at(e) for e in range(6)] == pytest.approx([0.002, 0.002 * (1 + math.cos(math.pi / 4)) / 2, 0.001,
                                                              0.002 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.002, 0.002])
    assert {TrainConfig(epochs=4).lr_at(e) for e in range(4)} == {1e-3}
    assert "lr_schedule" not in TrainConfig().to_dict()  # old resume states and checkpoints still match
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert applicable_settings({"lr_schedule": "cosine"}, "mlp")["lr_schedule"] == "cosine"
    assert "lr_schedule" not in applicable_settings({"lr_schedule": "constant"}, "mlp")
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")


@pytest.mark.parametrize("kill_after_epoch", [None, 1])
def test_cosine_schedule_sets_each_epochs_rate_also_after_a_resume(tmp_path, kill_after_epoch):
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[8])
    cfg = TrainConfig(epochs=4, prune_epochs=0, lr_schedule="cosine")
    out, rates = tmp_path / "m.pt", {}

    def record(epoch, _row):
        state = torch.load(str(out) + ".partial", weights_only=True)
        rates[epoch] = state["optimizer"]["param_groups"][0]["lr"]
        if epoch == kill_after_epoch:
            raise _Killed

    if kill_after_epoch is not None:
        with pytest.raises(_Killed):
            train_network(ds, spec, cfg, 0, out, progress=False, epoch_callback=record)
    meta = train_network(ds, spec, cfg, 0, out, progress=False, epoch_callback=record)
    assert rates == pytest.approx({e: cfg.lr_at(e) for e in range(4)})
    assert meta["train_config"]["lr_schedule"] == "cosine"
    constant = train_network(ds, spec, TrainConfig(epochs=4, prune_epochs=0), 0, tmp_path / "c.pt", progress=False)
    assert constant["metrics"][-1]["train_loss"] != meta["metrics"][-1]["train_loss"]


def test_grad_clip_norm_bounds_each_steps_gradient_and_is_recorded_only_when_set(tmp_path, monkeypatch):
    from nnstructure.train.config import applicable_settings

    assert "grad_clip_norm" not in TrainConfig().to_dict()
    assert applicable_settings({"grad_clip_norm": 0.5}, "mlp")["grad_clip_norm"] == 0.5
    assert "grad_clip_norm" not in applicable_settings({}, "mlp")
    with pytest.raises(ValueError, match="grad_clip_norm"):
        TrainConfig(grad_clip_norm=-1)
    ds = toy_images()
    spec = model_spec("mlp", ds.input_shape, 2, widths=[8])
    norms_at_step = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        norms_at_step.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    plain = train_network(ds, spec, TrainConfig(epochs=2, prune_epochs=0), 0, tmp_path / "a.pt", progress=False)
    unclipped_norms, norms_at_step[:] = list(norms_at_step), []
    loose = train_network(ds, spec, TrainConfig(epochs=2, prune_epochs=0, grad_clip_norm=1e9), 0, tmp_path / "b.pt", progress=False)
    assert norms_at_step == unclipped_norms  # a bound never reached changes nothing
    assert [r["train_loss"] for r in loose["metrics"]] == [r["train_loss"] for r in plain["metrics"]]
    clip = 0.5 * float(np.median(unclipped_norms))
    norms_at_step[:] = []
    tight = train_network(ds, spec, TrainConfig(epochs=2, prune_epochs=0, grad_clip_norm=clip), 0, tmp_path / "c.pt", progress=False)
    assert max(norms_at_step) <= clip * (1 + 1e-5) < max(unclipped_norms)
    assert tight["train_config"]["grad_clip_norm"] == clip
