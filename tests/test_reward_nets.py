"""Reward net (thesis 5.3): architecture, action selection, layer outputs, streamed training, resume, checkpoints."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nnstructure.checkpoint import load_checkpoint
from nnstructure.data.dataset import Dataset
from nnstructure.io import ArtifactError
from nnstructure.train.precision import resolve_precision
from nnstructure.models import build_model, reward_layer_outputs, reward_net_spec, taken_action_output, transition_inputs
from nnstructure.models.reward import predict_rewards, reward_channels
from nnstructure.reward.nets import mean_guess_mse, reward_net_row, train_reward_net
from nnstructure.reward.transitions import TransitionDataset
from nnstructure.train import TrainConfig, train_network
from test_reward_transitions_data import write_transition_dataset

TINY = {"width_multiplier": 1 / 32, "batch_size": 16, "lr": 5e-3, "epochs": 10}


def test_architecture_matches_the_thesis_and_the_width_multiplier():
    spec = reward_net_spec()
    assert spec["input_shape"] == [6, 64, 64] and spec["n_outputs"] == 15
    model = build_model(spec, seed=0)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) for c in convs)
    # the average and the head: AdaptiveAvgPool2d and Linear computed in float32 (test below)
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU"] * 5 + ["Float32SpatialMean", "Flatten", "Float32Linear"]
    assert isinstance(model[-3], nn.AdaptiveAvgPool2d) and model[-3].output_size == 1 and isinstance(model[-1], nn.Linear)
    assert model[-1].in_features == 256 and model[-1].out_features == 15
    quarter = reward_net_spec(width_multiplier=0.25)
    assert reward_channels(quarter) == [24, 64, 96, 96, 64]
    for bad, match in (({"dropout": 0.5}, "no dropout"), ({"width_multiplier": 0}, "width_multiplier"), ({"init": "he"}, "init")):
        with pytest.raises(ValueError, match=match):
            build_model({**spec, **bad})


def test_initialisation_is_seeded_and_leaves_the_global_rng_alone():
    spec = reward_net_spec([6, 8, 8], width_multiplier=1 / 16)
    state = torch.random.get_rng_state()
    a, b, c = build_model(spec, seed=4), build_model(spec, seed=4), build_model(spec, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)
    # PyTorch default init (original code): kernels and biases within 1/sqrt(fan_in)
    bound = 1 / math.sqrt(6 * 9)
    assert a[0].weight.abs().max() <= bound and a[0].bias.abs().max() <= bound
    glorot = build_model({**spec, "init": "glorot"}, seed=4)
    assert torch.all(glorot[0].bias == 0) and glorot[0].weight.abs().max() <= math.sqrt(6 / (6 * 9 + 6 * 9))


def test_output_shape_action_selection_and_inputs():
    spec = reward_net_spec([6, 12, 12], width_multiplier=1 / 16)
    model = build_model(spec, seed=0).eval()
    obs = torch.randint(0, 256, (5, 3, 12, 12), dtype=torch.uint8)
    nxt = torch.randint(0, 256, (5, 3, 12, 12), dtype=torch.uint8)
    x = transition_inputs(obs, nxt)
    assert x.shape == (5, 6, 12, 12) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert torch.equal(x[:, 3:], nxt.float() / 255)
    out = model(x)
    assert out.shape == (5, 15)
    action = torch.tensor([0, 14, 3, 3, 7])
    picked = taken_action_output(out, action)
    assert torch.equal(picked, torch.stack([out[i, a] for i, a in enumerate(action.tolist())]))
    assert torch.allclose(predict_rewards(model, obs, nxt, action, batch_size=2), picked)
    assert torch.allclose(predict_rewards(model, obs, nxt), out)


def test_layer_outputs_are_the_relu_outputs_in_thesis_numbering():
    spec = reward_net_spec([6, 10, 10], width_multiplier=1 / 16)
    model = build_model(spec, seed=1)
    x = torch.rand(2, 6, 10, 10)
    acts = reward_layer_outputs(model, x, [0, 2, 4])
    assert torch.equal(acts[0], torch.relu(model[0](x)))
    h = x
    for m in list(model)[:10]:
        h = m(h)
    assert torch.equal(acts[4], h) and acts[4].shape == (2, 16, 10, 10)  # same padding: spatial size kept
    assert acts[2].shape[1] == reward_channels(spec)[2] and (acts[2] >= 0).all()
    with pytest.raises(ValueError, match="0..4"):
        reward_layer_outputs(model, x, [5])


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return write_transition_dataset(tmp_path_factory.mktemp("reward_nets") / "ds", n_shards=3, episodes_per_shard=12, steps=3, size=8)


class _Killed(Exception):
    pass


@pytest.fixture(scope="module")
def trained(dataset_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("nets") / "full.pt"
    meta = train_reward_net(dataset_dir, TINY, 0, out, log=out.with_suffix(".parquet"), progress=False)
    return out, meta


def test_streamed_training_lowers_the_loss_below_mean_guessing(trained, dataset_dir):
    out, meta = trained
    history = pd.read_parquet(out.with_suffix(".parquet"))
    assert list(history["epoch"]) == list(range(1, 11))
    assert history["test_loss"].iloc[-1] < history["test_loss"].iloc[0]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    baseline = mean_guess_mse(TransitionDataset(dataset_dir))
    assert meta["test_loss"] < 0.75 * baseline["test"]
    # the checkpoint's test loss is the MSE of the taken action's output over the test split
    ds = TransitionDataset(dataset_dir)
    model = load_checkpoint(out).model
    batch = ds.load(ds.rows("test"))
    # the chapter-5 default, auto, resolved on this machine: bf16 where oneDNN has native bf16 kernels
    used = resolve_precision("auto", "cpu")
    assert meta["train_config"]["precision"] == used and meta["precision_setting"] == "auto"
    assert meta["reward_net_settings"]["precision"] == "auto"
    pred = predict_rewards(model, batch["obs"], batch["next_obs"], batch["action"], precision=used)
    assert meta["test_loss"] == pytest.approx(float(((pred - batch["reward"]) ** 2).mean()), rel=1e-5)
    row = reward_net_row(out, "tiny")
    assert row["game"] == "coinrun" and row["epochs"] == 10 and row["width_multiplier"] == pytest.approx(1 / 32)
    assert row["channels"] == "3-8-12-12-8"  # the thesis's 96, 256, 384, 384, 256 at width 1/32
    assert row["lr_schedule"] == "constant" and row["grad_clip_norm"] == 0.0  # unset: the thesis's
    assert "lr_schedule" not in meta["train_config"] and "grad_clip_norm" not in meta["train_config"]
    assert row["test_loss"] == pytest.approx(meta["test_loss"]) and row["mean_guess_test_mse"] == pytest.approx(baseline["test"])
    assert row["precision"] == used  # the precision used, not the setting
    assert meta["spec"]["arch"] == "reward" and meta["reward_net_settings"]["adam_eps"] == 1e-8


def test_streamed_training_resumes_exactly(trained, dataset_dir, tmp_path):
    full, _ = trained
    out = tmp_path / "resumed.pt"

    def kill(epoch, _row):
        if epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        train_reward_net(dataset_dir, TINY, 0, out, progress=False, epoch_callback=kill)
    assert (tmp_path / "resumed.pt.partial").exists() and not out.exists()
    seen = []
    train_reward_net(dataset_dir, TINY, 0, out, progress=False, epoch_callback=lambda e, r: seen.append(e))
    assert seen == list(range(3, 10))
    a, b = load_checkpoint(full), load_checkpoint(out)
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        assert torch.equal(p, q), name
    assert a.metadata["test_loss"] == b.metadata["test_loss"]


def test_truncated_reward_checkpoint_is_refused(trained, tmp_path):
    data = trained[0].read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        load_checkpoint(bad)


def test_reward_arch_trains_in_memory_on_single_images(tmp_path):
    # dots-and-distances style: 3-channel images, one regression output, the chapter-3 in-memory path
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, 3, 8, 8), dtype=np.uint8)
    y = (x.reshape(48, -1).mean(axis=1, keepdims=True) / 255).astype(np.float32)
    ds = Dataset("bright", x[:40], y[:40], x[40:], y[40:], task="regression", n_classes=None)
    spec = reward_net_spec([3, 8, 8], 1, width_multiplier=1 / 32)
    meta = train_network(ds, spec, TrainConfig(epochs=2, prune_epochs=0, batch_size=16), 0, tmp_path / "d.pt", progress=False)
    assert meta["spec"]["arch"] == "reward" and load_checkpoint(tmp_path / "d.pt").model[-1].out_features == 1


def test_wrong_model_for_transitions_is_refused(dataset_dir, tmp_path):
    spec = reward_net_spec([6, 16, 16], width_multiplier=1 / 32)
    with pytest.raises(ValueError, match=r"differs from the transitions"):
        train_network(TransitionDataset(dataset_dir), spec, TrainConfig(epochs=1, prune_epochs=0), 0, tmp_path / "m.pt", progress=False)


def test_cli_reward_net(dataset_dir, tmp_path, capsys):
    from nnstructure.cli import main

    out = tmp_path / "cli.pt"
    rc = main(["reward-net", "--dataset", str(dataset_dir), "--epochs", "1", "--width-multiplier", "0.03125",
               "--batch-size", "32", "--seed", "1", "--out", str(out), "--summary", str(tmp_path / "row.parquet"), "--quiet"])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["epochs"] == 1 and printed["game"] == "coinrun"
    assert pd.read_parquet(tmp_path / "row.parquet")["test_loss"].iloc[0] == pytest.approx(printed["test_loss"])


def test_channels_setting_builds_records_and_labels_the_net(dataset_dir, tmp_path, capsys):
    """``--channels`` (the ``channels`` setting) replaces the thesis's channels before the width multiplier; the
    row and the report's labels name the channels built, never a width the net does not have."""
    from nnstructure.cli import main
    from nnstructure.report.ch5 import width_text

    out = tmp_path / "wide-first.pt"
    rc = main(["reward-net", "--dataset", str(dataset_dir), "--epochs", "1", "--width-multiplier", "0.03125",
               "--channels", "384,256,384,384,256", "--batch-size", "32", "--seed", "1", "--out", str(out), "--quiet",
               "--lr-schedule", "cosine", "--grad-clip-norm", "2.5"])
    assert rc == 0
    capsys.readouterr()
    convs = [m for m in load_checkpoint(out).model if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [12, 8, 12, 12, 8]
    row = reward_net_row(out, "wide-first")
    assert row["channels"] == "12-8-12-12-8" and width_text(row) == "channels 12-8-12-12-8"
    assert (row["lr_schedule"], row["grad_clip_norm"]) == ("cosine", 2.5)  # the recipe settings, recorded
    assert load_checkpoint(out).metadata["train_config"]["lr_schedule"] == "cosine"
    assert width_text({**row, "channels": "3-8-12-12-8"}) == "width x0.03125"
    assert width_text({"width_multiplier": 0.5}) == "width x0.5"  # rows from before the setting existed
    with pytest.raises(SystemExit):
        main(["reward-net", "--dataset", str(dataset_dir), "--epochs", "1", "--channels", "12,zero", "--out", str(out)])
    assert "comma-separated integers" in capsys.readouterr().err


def test_chapter_4_refuses_a_reward_net_saying_what_to_use(trained, tmp_path, capsys):
    from nnstructure.cli import main

    out, _ = trained
    assert main(["specialization", str(out), "--dataset", str(tmp_path / "any.npz"), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a chapter-5 reward net" in err and "noise-test" in err, err


def test_the_average_and_head_stay_float32_under_bf16_autocast():
    """A 3x3-pixel change in a dense 64x64 channel (the size of CoinRun's coin) moves its mean by 9/4096. Rounded to
    bfloat16, as plain autocast leaves AdaptiveAvgPool2d on a bfloat16 map, the change vanishes; the reward net's
    own average keeps it, and its head computes in float32 what an fp32 Linear computes."""
    from nnstructure.train.precision import Float32Linear, Float32SpatialMean, autocast

    gen = torch.Generator().manual_seed(0)
    h = torch.rand(2, 4, 64, 64, generator=gen) + 1.0
    bumped = h.clone()
    bumped[:, 0, 30:33, 30:33] += 1.0
    plain, ours = nn.AdaptiveAvgPool2d(1), Float32SpatialMean(1)
    with autocast("cpu", "bf16"):
        # in bfloat16 the mean (about 1.5) moves in steps of 2^-7: by 0 or one step, never by the coin's 9/4096
        rounded = (plain(bumped.bfloat16()) - plain(h.bfloat16())).float()[:, 0, 0, 0]
        change = (ours(bumped.bfloat16()) - ours(h.bfloat16()))[:, 0, 0, 0]
    assert ((rounded == 0) | (rounded.abs() == 2**-7)).all()
    assert change.dtype == torch.float32
    torch.testing.assert_close(change, torch.full((2,), 9 / 4096), rtol=0.05, atol=0)  # bfloat16 inputs, float32 sum

    head = Float32Linear(4, 15)
    x = torch.rand(8, 4, generator=gen)
    with autocast("cpu", "bf16"):
        out = head(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, nn.functional.linear(x, head.weight, head.bias), rtol=1e-6, atol=1e-6)
    scripted = torch.jit.script(nn.Sequential(ours, nn.Flatten(), head))  # TorchScript exports keep working
    torch.testing.assert_close(scripted(h), head(ours(h).flatten(1)))

    net = build_model(reward_net_spec(width_multiplier=0.0625), seed=0)
    assert isinstance(net[-3], Float32SpatialMean) and isinstance(net[-1], Float32Linear)
    plain_net = nn.Sequential(*list(net)[:-3], nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(net[-1].in_features, 15))
    plain_net.load_state_dict(net.state_dict())  # the state dict is the plain layout's
    x = torch.rand(3, 6, 64, 64, generator=gen)
    torch.testing.assert_close(net(x), plain_net(x), rtol=1e-5, atol=1e-6)  # fp32: the same function
