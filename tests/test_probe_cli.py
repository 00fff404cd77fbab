"""Probes on reward-net checkpoints through the CLI: transition datasets, dots, random-network baselines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from nnstructure.checkpoint import save_checkpoint
from nnstructure.cli import main
from nnstructure.models import build_model, reward_net_spec, transition_inputs
from nnstructure.probe import load_feature_cache, pooled_layer_outputs
from nnstructure.reward.transitions import TransitionDataset
from test_reward_transitions_data import write_transition_dataset


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe-cli")
    dataset = write_transition_dataset(root / "ds", kept_filter=True)
    spec = reward_net_spec([6, 16, 16], width_multiplier=1 / 32)
    save_checkpoint(root / "net.pt", build_model(spec, seed=1), {"spec": spec})
    dots_spec = reward_net_spec([3, 64, 64], n_outputs=1, width_multiplier=1 / 32)
    save_checkpoint(root / "dots.pt", build_model(dots_spec, seed=2), {"spec": dots_spec})
    return root, dataset


def test_feature_cache_of_a_transition_dataset_matches_the_network(setup, capsys):
    root, dataset = setup
    assert main(["probe-features", str(root / "net.pt"), "--dataset", str(dataset), "--layers", "1,3",
                 "--out", str(root / "feats"), "--network", "tiny", "--batch-size", "7", "--quiet"]) == 0
    cache = load_feature_cache(root / "feats")
    ds = TransitionDataset(dataset)
    # Every kept transition once, in table order, with its split and distances.
    np.testing.assert_array_equal(cache.rows["row"], ds.rows())
    table = ds.table.iloc[ds.rows()].reset_index(drop=True)
    np.testing.assert_array_equal(cache.rows["split"], table["split"])
    np.testing.assert_array_equal(cache.rows["distance_raw"], table["distance_raw"])
    assert cache.metadata["network"] == "tiny" and cache.metadata["random_init_seed"] is None
    # The cached vectors are the pooled ReLU outputs of the checkpoint's network.
    from nnstructure.checkpoint import load_checkpoint

    model = load_checkpoint(root / "net.pt").model
    batch = ds.load(cache.rows["row"].to_numpy()[[0, 5, 17]])
    expected = pooled_layer_outputs(model, transition_inputs(batch["obs"], batch["next_obs"]), [3])[3]
    np.testing.assert_allclose(cache.layer(3)[[0, 5, 17]], expected.numpy(), rtol=1e-5, atol=1e-7)
    assert json.loads(capsys.readouterr().out)["n_rows"] == ds.n()


def test_probe_fit_rows_for_every_target_and_the_filter(setup, capsys):
    root, _ = setup
    rows = []
    for target, extra in (("distance", []), ("inv_distance_sq", []), ("distance", ["--filtered"]), ("x", [])):
        out = root / f"row-{target}-{len(extra)}.parquet"
        assert main(["probe-fit", str(root / "feats"), "--layer", "1", "--target", target, "--epochs", "2",
                     "--out", str(out), *extra]) == 0
        rows.append(pd.read_parquet(out).iloc[0])
    capsys.readouterr()
    assert [r["target"] for r in rows] == ["distance", "inv_distance_sq", "distance", "dx"]
    cache = load_feature_cache(root / "feats")
    visible = cache.rows["distance_raw"].to_numpy() < 6
    assert rows[0]["n_train"] + rows[0]["n_test"] == len(cache.rows)
    assert rows[2]["filtered"] and rows[2]["n_train"] + rows[2]["n_test"] == visible.sum()
    for r in rows:
        assert r["epochs"] == 2 and len(r["adam_test_loss_by_epoch"]) == r["adam_epochs"] >= 2 and r["split"] == "dataset"
        assert r["adam_standardized"] and r["adam_lr_sweep"].tolist() == [1e-3, 3e-3, 1e-2]
        assert r["converged"] == (r["adam_to_closed_form"] <= 1.10)
        # The exact least-squares probe is never worse than guessing the mean on the training rows it was fitted on.
        assert np.isfinite(r["adam_test_loss"]) and r["closed_form_train_loss"] <= r["mean_loss"] * 10


def test_thesis_adam_runs_exactly_the_epochs_asked_and_says_whether_it_converged(setup, capsys):
    root, _ = setup
    assert main(["probe-fit", str(root / "feats"), "--layer", "1", "--target", "distance", "--epochs", "1",
                 "--thesis-adam", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["adam_epochs"] == 1 and row["adam_stop"] == "epochs" and not row["adam_standardized"]
    assert row["adam_lr_sweep"] == [] and row["converged"] == (row["adam_to_closed_form"] <= 1.10)
    assert main(["probe-fit", str(root / "feats"), "--layer", "1", "--target", "distance", "--epochs", "3",
                 "--lr-sweep", "none", "--lr", "0.01", "--max-epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "standardised, lr 0.01, 3 epochs" in out and "converged" in out and "ratio" in out
    with pytest.raises(SystemExit):
        main(["probe-fit", str(root / "feats"), "--layer", "1", "--target", "distance", "--lr-sweep", "fast"])
    assert "--lr-sweep takes" in capsys.readouterr().err


def test_probe_command_on_a_random_network_and_thesis_epochs(setup, capsys):
    root, dataset = setup
    assert main(["probe", str(root / "net.pt"), "--dataset", str(dataset), "--layer", "2", "--target", "squared",
                 "--random-init", "3", "--thesis-network", "coinrun-40", "--json", "--quiet"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["init"] == "random" and row["init_seed"] == 3 and row["epochs"] == 10 and row["target"] == "distance_sq"
    assert row["thesis_network"] == "coinrun-40"


def test_probe_on_fresh_dots_images(setup, capsys):
    root, _ = setup
    assert main(["probe", str(root / "dots.pt"), "--dots-seed", "0", "--dots-n", "40", "--layer", "4",
                 "--target", "pair_distances", "--epochs", "1", "--json", "--quiet", "--cache", str(root / "dots-feats")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["n_components"] == 3 and row["n_train"] == 36 and row["n_test"] == 4
    cache = load_feature_cache(root / "dots-feats")
    from nnstructure.data.dots import centres_at, pair_distances
    from nnstructure.data.dots_stream import dots_split_seed
    from nnstructure.probe.sources import DOTS_PROBE_SPLIT

    expected = pair_distances(centres_at(dots_split_seed(0, DOTS_PROBE_SPLIT), np.arange(40)))
    np.testing.assert_allclose(cache.rows[["pair_distance_red", "pair_distance_blue", "pair_distance_green"]], expected)


def test_clear_errors(setup, capsys):
    root, dataset = setup
    assert main(["probe", str(root / "net.pt"), "--layer", "1", "--target", "distance", "--quiet"]) == 1
    assert "--dataset DIR" in capsys.readouterr().err
    assert main(["probe-fit", str(root / "nowhere"), "--layer", "1", "--target", "distance"]) == 1
    assert "probe-features" in capsys.readouterr().err
    assert main(["probe-fit", str(root / "feats"), "--layer", "2", "--target", "distance"]) == 1
    assert "holds layers [1, 3]" in capsys.readouterr().err
    assert main(["probe", str(root / "net.pt"), "--dataset", str(dataset), "--layer", "5", "--target", "distance", "--quiet"]) == 1
    assert "numbered 0..4" in capsys.readouterr().err


def test_probing_a_network_of_another_architecture_says_what_probes_take(tmp_path, capsys):
    from nnstructure.models import model_spec

    spec = model_spec("mlp", [28, 28], 10)
    save_checkpoint(tmp_path / "mlp.pt", build_model(spec, seed=0), {"spec": spec, "dataset": "mnist"})
    assert main(["probe", str(tmp_path / "mlp.pt"), "--dots-seed", "0", "--dots-n", "50", "--layer", "1",
                 "--target", "distance", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a 'mlp' network" in err and "reward-net architecture" in err, err


def test_probes_read_every_network_format_through_the_one_loader(setup, tmp_path, capsys):
    """A reward net saved as a state dict or as TorchScript gives the features of the same weights in our checkpoint."""
    from nnstructure.checkpoint import load_checkpoint

    root, dataset = setup
    net = load_checkpoint(root / "net.pt").model
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    torch.jit.script(net).save(str(tmp_path / "script.pt"))
    caches = {}
    for name in ("sd", "script"):
        assert main(["probe-features", str(tmp_path / f"{name}.pt"), "--dataset", str(dataset), "--layers", "1,3",
                     "--out", str(tmp_path / name), "--quiet"]) == 0
        caches[name] = load_feature_cache(tmp_path / name)
    ours = load_feature_cache(root / "feats")
    for cache in caches.values():
        for layer in (1, 3):
            np.testing.assert_array_equal(cache.layer(layer), ours.layer(layer))
    assert caches["sd"].metadata["network_format"] == "state dict"
    assert caches["script"].metadata["network_format"] == "torchscript"
    # A random baseline needs an architecture spec: a state dict of the reward layout has one.
    assert main(["probe-features", str(tmp_path / "sd.pt"), "--dataset", str(dataset), "--layers", "1",
                 "--random-init", "0", "--out", str(tmp_path / "rand"), "--quiet"]) == 0
    capsys.readouterr()


def test_probe_features_without_layers_names_the_inputs_a_network_takes_not_a_missing_layer(setup, tmp_path, capsys):
    """Layers 3 and 4 of the default 1..4 do not exist in a 3-layer dots net; the real problem, that it takes 3-channel images
    and not transitions, is what the one-line error says."""
    root, dataset = setup
    spec = reward_net_spec([3, 64, 64], n_outputs=1, channels=[4, 4, 4])
    save_checkpoint(tmp_path / "small-dots.pt", build_model(spec, seed=0), {"spec": spec})
    assert main(["probe-features", str(tmp_path / "small-dots.pt"), "--dataset", str(dataset),
                 "--out", str(tmp_path / "f"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "do not exist" not in err, err
    assert "of shape [6, 16, 16] each: it expects shape [3, 64, 64]" in err, err
    # With inputs it takes, a layer that is not there is named as such.
    assert main(["probe-features", str(tmp_path / "small-dots.pt"), "--dots-seed", "0", "--dots-n", "4",
                 "--out", str(tmp_path / "f"), "--quiet"]) == 1
    assert "layer(s) [3, 4] do not exist: this network has 3 ReLU layers" in capsys.readouterr().err
