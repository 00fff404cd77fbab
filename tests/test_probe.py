"""Linear probes: features, targets and caps, Adam against the exact solution, planted structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nnstructure.probe import (
    fit_adam_probe,
    fit_closed_form_probe,
    load_feature_cache,
    mean_guess_loss,
    pooled_features,
    pooled_layer_outputs,
    probe_row,
    split_masks,
    target_values,
    thesis_probe_epochs,
    write_feature_cache,
)
from nnstructure.probe.features import iterate_arrays
from nnstructure.probe.targets import coin_visible_mask


def _tiny_conv_net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.Conv2d(6, 5, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 2),
    )


def test_pooled_layer_outputs_are_relu_outputs_averaged_over_space():
    net = _tiny_conv_net()
    x = torch.rand(7, 3, 8, 8)
    out = pooled_layer_outputs(net, x, [0, 2])
    with torch.no_grad():
        h0 = net[1](net[0](x))
        h2 = net[5](net[4](net[3](net[2](h0))))
    torch.testing.assert_close(out[0], h0.mean(dim=(2, 3)))
    torch.testing.assert_close(out[2], h2.mean(dim=(2, 3)))
    assert set(out) == {0, 2}
    with pytest.raises(ValueError, match="numbered 0..2"):
        pooled_layer_outputs(net, x, [3])


def test_feature_cache_round_trip(tmp_path):
    net = _tiny_conv_net()
    x = np.random.default_rng(0).uniform(size=(20, 3, 8, 8)).astype(np.float32)
    cols = {"split": np.array(["train"] * 15 + ["test"] * 5), "distance_raw": np.linspace(0, 30, 20)}
    feats, rows = pooled_features(net, iterate_arrays(x, cols, batch_size=6), [1, 2])
    assert feats[1].shape == (20, 6) and feats[2].shape == (20, 5)
    np.testing.assert_array_equal(rows["distance_raw"], cols["distance_raw"])
    cache = write_feature_cache(tmp_path / "f", feats, rows, {"network": "tiny"})
    again = load_feature_cache(tmp_path / "f")
    assert again.layers == [1, 2] and again.metadata["network"] == "tiny"
    np.testing.assert_array_equal(again.layer(2), feats[2])
    pd.testing.assert_frame_equal(again.rows, cache.rows)
    with pytest.raises(ValueError, match="not layer 3"):
        again.layer(3)


def test_incomplete_feature_cache_is_refused(tmp_path):
    from nnstructure.io import ArtifactError

    (tmp_path / "half").mkdir()
    with pytest.raises(ArtifactError, match="probe-features"):
        load_feature_cache(tmp_path / "half")


def test_caps_applied_to_every_distance_target():
    raw = np.array([0.0, 0.1, 0.5, 3.0, 20.0, 100.0])
    table = pd.DataFrame({"distance_raw": raw})
    np.testing.assert_allclose(target_values(table, "distance")[:, 0], [0, 0.1, 0.5, 3, 18.4, 18.4])
    np.testing.assert_allclose(target_values(table, "distance_sq")[:, 0], [0, 0.01, 0.25, 9, 338.0, 338.0])
    np.testing.assert_allclose(target_values(table, "inverse")[:, 0], [5, 5, 2, 1 / 3, 0.05, 0.01])
    np.testing.assert_allclose(target_values(table, "inv_distance_sq")[:, 0], [5, 5, 4, 1 / 9, 1 / 400, 1e-4])
    # A table with only the stored columns gets the same caps.
    stored = pd.DataFrame({"distance": [3.0, 40.0], "distance_sq": [9.0, 1600.0]})
    np.testing.assert_allclose(target_values(stored, "distance")[:, 0], [3.0, 18.4])
    np.testing.assert_allclose(target_values(stored, "squared")[:, 0], [9.0, 338.0])
    with pytest.raises(ValueError, match="lacks"):
        target_values(stored, "dx")
    with pytest.raises(ValueError, match="unknown probe target"):
        target_values(stored, "speed")


def test_coin_visible_subset_is_distance_below_six():
    table = pd.DataFrame({"distance_raw": [0.0, 5.99, 6.0, 7.0], "coin_visible": [True, True, True, False]})
    np.testing.assert_array_equal(coin_visible_mask(table), [True, True, False, False])
    np.testing.assert_array_equal(coin_visible_mask(table[["coin_visible"]]), [True, True, True, False])


def test_closed_form_and_adam_agree_on_a_small_problem():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 5)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.7 + rng.normal(scale=0.5, size=3000)
    exact = fit_closed_form_probe(x[:2700], y[:2700], x[2700:], y[2700:])
    # The thesis's raw Adam is enough on well-scaled features.
    adam = fit_adam_probe(x[:2700], y[:2700], x[2700:], y[2700:], epochs=40, lr=1e-2, seed=0, standardize=False)
    assert exact.test_loss == pytest.approx(0.25, rel=0.2)  # the noise variance
    assert adam.test_loss == pytest.approx(exact.test_loss, rel=0.03)
    np.testing.assert_allclose(adam.weight[:, 0], exact.weight[:, 0], atol=0.05)
    assert len(adam.test_loss_by_epoch) == 40
    # The exact solution minimises the training loss.
    assert exact.train_loss <= adam.train_loss + 1e-9


@pytest.fixture(scope="module")
def planted_cache(tmp_path_factory):
    """Features of layer 1 of a tiny net on random images; a target planted linearly in them."""
    net = _tiny_conv_net(3)
    rng = np.random.default_rng(2)
    # A per-image colour offset makes the pooled features vary from image to image.
    x = (10 * rng.normal(size=(1500, 3, 1, 1)) + rng.normal(size=(1500, 3, 8, 8))).astype(np.float32)
    feats, _ = pooled_features(net, iterate_arrays(x, {}, batch_size=500), [1, 2])
    planted = feats[1] @ np.array([2.0, -1.0, 0.5, 1.0, 0.0, 3.0]) + 0.25
    rows = pd.DataFrame({"split": np.where(np.arange(1500) < 1350, "train", "test"), "mean_distance": planted})
    return write_feature_cache(tmp_path_factory.mktemp("planted") / "f", feats, rows, {"network": "tiny"})


def test_probe_recovers_a_target_planted_in_the_layer(planted_cache):
    row = probe_row(planted_cache, 1, "mean_distance", epochs=40, lr=1e-2)
    assert row["closed_form_test_loss"] < 1e-8 * row["mean_loss"]
    # Adam gets close but never reaches an exact zero: the gap the closed-form column makes visible,
    # and the row says the Adam probe did not converge.
    assert row["adam_test_loss"] < 1e-3 * row["mean_loss"]
    assert row["adam_test_loss_by_epoch"][-1] < row["adam_test_loss_by_epoch"][0]
    assert not row["converged"] and row["adam_to_closed_form"] > 1.1 and row["adam_epochs"] == row["adam_max_epochs"]
    assert row["n_train"] == 1350 and row["n_test"] == 150 and row["init"] == "trained"


def test_probe_fails_on_shuffled_targets(planted_cache):
    shuffled = planted_cache.rows.copy()
    shuffled["mean_distance"] = np.random.default_rng(0).permutation(shuffled["mean_distance"].to_numpy())
    cache = type(planted_cache)(path=planted_cache.path, metadata=planted_cache.metadata, rows=shuffled)
    row = probe_row(cache, 1, "mean_distance", epochs=10, lr=1e-2)
    # Nothing to find: no better than guessing the mean (up to the overfit of 7 parameters on 1350 rows).
    assert row["closed_form_test_loss"] > 0.9 * row["mean_loss"]
    assert row["adam_test_loss"] > 0.9 * row["mean_loss"]


def test_filtered_probe_uses_exactly_the_coin_visible_rows(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    feats = {1: rng.normal(size=(n, 3)).astype(np.float32)}
    raw = rng.uniform(0, 12, size=n)
    rows = pd.DataFrame({"split": np.where(np.arange(n) % 10 == 0, "test", "train"), "distance_raw": raw})
    cache = write_feature_cache(tmp_path / "f", feats, rows, {})
    row = probe_row(cache, 1, "distance", filtered=True, epochs=1)
    visible = raw < 6
    assert row["n_train"] + row["n_test"] == visible.sum()
    assert row["n_test"] == (visible & (np.arange(n) % 10 == 0)).sum()
    y = raw[visible]
    split = rows["split"].to_numpy()[visible]
    assert row["mean_loss"] == pytest.approx(mean_guess_loss(y[split == "train"], y[split == "test"]))


def test_random_split_holds_out_ten_percent_deterministically():
    rows = pd.DataFrame({"x": np.arange(1000)})
    train, test = split_masks(rows, "random", seed=4)
    assert test.sum() == 100 and not (train & test).any() and (train | test).all()
    np.testing.assert_array_equal(test, split_masks(rows, "random", seed=4)[1])


def test_thesis_epochs_follow_the_captions():
    assert thesis_probe_epochs("coinrun-15", 4, "distance_sq") == 40
    assert thesis_probe_epochs("coinrun-15", 3, "inverse") == 20
    assert thesis_probe_epochs("coinrun-15", 1, "distance") == 5
    assert thesis_probe_epochs("coinrun-40", 2, "squared") == 10
    assert thesis_probe_epochs("coinrun-40", 3, "distance", filtered=True) == 50
    assert thesis_probe_epochs("adversarial", 1, "distance_sq", filtered=True) == 50
    assert thesis_probe_epochs("dots", 3, "pair_distances") == 10
    with pytest.raises(ValueError, match="no filtered probes"):
        thesis_probe_epochs("heist", 1, "distance", filtered=True)


def test_written_out_adam_step_is_torch_adam():
    from nnstructure.probe.fit import adam_step_

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=gen), torch.randn(64, 2, generator=gen)
    w0, b0 = torch.randn(4, 2, generator=gen), torch.randn(2, generator=gen)
    w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
    optimizer = torch.optim.Adam([w, b], lr=0.01)
    state = [(w0.clone(), torch.zeros(4, 2), torch.zeros(4, 2)), (b0.clone(), torch.zeros(2), torch.zeros(2))]
    for step in range(1, 6):
        rows = slice(8 * step, 8 * step + 16)
        loss = torch.nn.functional.mse_loss(torch.addmm(b, x[rows], w), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        residual = (torch.addmm(state[1][0], x[rows], state[0][0]) - y[rows]) * (2.0 / 32)
        adam_step_(state, (x[rows].T @ residual, residual.sum(0)), step, lr=0.01)
    torch.testing.assert_close(state[0][0], w.detach(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(state[1][0], b.detach(), rtol=1e-6, atol=1e-7)


def _badly_scaled_problem(seed: int = 5, n: int = 4000):
    """Correlated non-negative features with scales 1e-3..1e3, a dead (constant) column, and a target around 50."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 3))
    scales = np.logspace(-3, 3, 8)
    unscaled = np.abs(base @ rng.normal(size=(3, 8)) + 0.5 * rng.normal(size=(n, 8)))
    x = np.concatenate([unscaled * scales, np.full((n, 1), 0.25)], axis=1).astype(np.float32)
    y = 50 + unscaled @ rng.normal(scale=2.0, size=8) + rng.normal(size=n)
    return x[:3600], y[:3600], x[3600:], y[3600:]


def test_standardization_maps_weights_back_and_drops_constant_columns():
    from nnstructure.probe import Standardization

    x_train, y_train, _, _ = _badly_scaled_problem()
    s = Standardization.of(x_train, y_train)
    xs, ys = s.features(x_train), s.targets(y_train)
    assert np.allclose(xs[:, :8].std(axis=0), 1, atol=1e-3) and np.all(xs[:, 8] == 0) and s.x_inv_scale[8] == 0
    assert abs(float(ys.mean())) < 1e-4 and float(ys.std()) == pytest.approx(1, abs=1e-4)
    w_std, b_std = np.random.default_rng(0).normal(size=(9, 1)), np.array([0.3])
    w, b = s.to_original(w_std, b_std)
    np.testing.assert_allclose(x_train.astype(np.float64) @ w + b, (xs.astype(np.float64) @ w_std + b_std) * s.y_scale + s.y_mean,
                               rtol=1e-4, atol=1e-4)
    assert w[8, 0] == 0


def test_adam_reaches_the_closed_form_on_badly_scaled_features():
    from nnstructure.probe import adam_converged, adam_to_closed_form, fit_converged_adam_probe

    x_train, y_train, x_test, y_test = _badly_scaled_problem()
    exact = fit_closed_form_probe(x_train, y_train, x_test, y_test)
    assert exact.test_loss < 0.25 * mean_guess_loss(y_train, y_test) and exact.weight[8, 0] == 0
    adam = fit_converged_adam_probe(x_train, y_train, x_test, y_test, exact.train_loss, epochs=5, seed=0)
    assert adam.standardized and adam.stop == "closed_form" and adam.epochs >= 5
    assert set(adam.sweep) == {1e-3, 3e-3, 1e-2} and adam.lr in adam.sweep
    assert adam.train_loss <= 1.011 * exact.train_loss
    assert adam_to_closed_form(adam.test_loss, exact.test_loss) <= 1.10 and adam_converged(adam.test_loss, exact.test_loss)
    assert len(adam.test_loss_by_epoch) == len(adam.train_loss_by_epoch) == adam.epochs
    # Deterministic: the same seed gives the same probe.
    again = fit_converged_adam_probe(x_train, y_train, x_test, y_test, exact.train_loss, epochs=5, seed=0)
    assert again.test_loss_by_epoch == adam.test_loss_by_epoch
    # The thesis's raw Adam, 5 epochs at lr 1e-3, is nowhere near on the same features: flagged.
    raw = fit_adam_probe(x_train, y_train, x_test, y_test, epochs=5, seed=0, standardize=False)
    assert adam_to_closed_form(raw.test_loss, exact.test_loss) > 1.10 and not adam_converged(raw.test_loss, exact.test_loss)


def test_fixed_epochs_without_sweep_or_extension_is_the_thesis_probe():
    from nnstructure.probe import fit_converged_adam_probe

    x_train, y_train, x_test, y_test = _badly_scaled_problem()
    fixed = fit_converged_adam_probe(x_train, y_train, x_test, y_test, 0.0, epochs=3, max_epochs=3, lr_sweep=(),
                                     seed=4, standardize=False)
    plain = fit_adam_probe(x_train, y_train, x_test, y_test, epochs=3, seed=4, standardize=False)
    assert fixed.test_loss_by_epoch == plain.test_loss_by_epoch and fixed.epochs == 3 and fixed.stop == "epochs"
    assert fixed.sweep == {} and fixed.lr == fixed.final_lr == 1e-3 and not fixed.standardized


def _badly_scaled_cache(tmp_path):
    x_train, y_train, x_test, y_test = _badly_scaled_problem()
    rows = pd.DataFrame({"split": ["train"] * len(y_train) + ["test"] * len(y_test),
                         "mean_distance": np.concatenate([y_train, y_test])})
    return write_feature_cache(tmp_path / "f", {2: np.concatenate([x_train, x_test])}, rows, {"network": "scaled"})


def test_probe_row_says_how_adam_was_trained_and_whether_it_converged(tmp_path):
    cache = _badly_scaled_cache(tmp_path)
    row = probe_row(cache, 2, "mean_distance", epochs=5)
    assert row["converged"] and row["adam_to_closed_form"] <= 1.10
    assert row["adam_to_closed_form"] == pytest.approx(row["adam_test_loss"] / row["closed_form_test_loss"])
    assert row["adam_standardized"] and row["adam_lr_sweep"] == [1e-3, 3e-3, 1e-2] and row["adam_lr"] in row["adam_lr_sweep"]
    assert len(row["adam_sweep_train_loss"]) == 3 and row["adam_stop"] == "closed_form"
    assert row["epochs"] == 5 and row["adam_epochs"] == len(row["adam_test_loss_by_epoch"]) >= 5
    assert row["adam_max_epochs"] == 200 and "standardised" in row["adam_method"]


def test_an_under_trained_probe_is_flagged_not_converged(tmp_path):
    cache = _badly_scaled_cache(tmp_path)
    row = probe_row(cache, 2, "mean_distance", epochs=1, max_epochs=1, lr_sweep=(), standardize=False)
    assert not row["converged"] and row["adam_to_closed_form"] > 1.10
    assert row["adam_epochs"] == 1 and row["adam_stop"] == "epochs" and not row["adam_standardized"]
    assert row["adam_method"] == "raw features, lr 0.001, 1 epochs, stop epochs"


def test_adam_may_standardise_the_training_copy_in_place_with_the_same_result():
    from nnstructure.probe import fit_converged_adam_probe

    x_train, y_train, x_test, y_test = _badly_scaled_problem()
    copied = fit_converged_adam_probe(x_train, y_train, x_test, y_test, 0.0, epochs=2, max_epochs=2, seed=1)
    scratch = x_train.copy()
    in_place = fit_converged_adam_probe(scratch, y_train, x_test, y_test, 0.0, epochs=2, max_epochs=2, seed=1,
                                        overwrite=True)
    assert in_place.test_loss_by_epoch == copied.test_loss_by_epoch and in_place.train_loss == copied.train_loss
    assert abs(float(scratch[:, 7].std()) - 1) < 1e-3  # the scratch copy now holds z-scores
