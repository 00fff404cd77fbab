"""Reward-net visualisation (thesis 5.4): Fourier de novo synthesis, pixel-space optimisation, controls."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from nnstructure.checkpoint import save_checkpoint
from nnstructure.models import build_model, reward_net_spec
from nnstructure.models.reward import predict_rewards
from nnstructure.reward.transitions import TransitionDataset
from nnstructure.reward.visualize import (
    CYAN,
    PINK,
    FourierTransitions,
    denovo_controls,
    high_reward_transitions,
    monochrome_transitions,
    optimize_transitions,
    random_translate,
    scramble_pixels,
    synthesize_denovo,
)
from test_reward_transitions_data import write_transition_dataset

SPEC = reward_net_spec([6, 12, 12], width_multiplier=1 / 16, init="glorot")


@pytest.fixture(scope="module")
def model():
    return build_model(SPEC, seed=0).eval()


@pytest.fixture(scope="module")
def denovo(model):
    return synthesize_denovo(model, (3, 12, 12), steps=24, max_shift=3, seed=1, snapshots=(8,))


def test_denovo_raises_every_actions_reward_and_keeps_pixels_in_range(denovo, model):
    assert denovo.steps == [0, 8, 24] and denovo.obs.shape == (3, 15, 3, 12, 12)
    assert torch.equal(denovo.actions, torch.arange(15))
    assert (denovo.rewards[-1] > denovo.rewards[0]).all()
    assert denovo.obs.min() > 0 and denovo.next_obs.max() < 1  # sigmoid output
    # reported rewards are the network on the untranslated images
    final = predict_rewards(model, denovo.obs[-1], denovo.next_obs[-1], denovo.actions)
    assert torch.allclose(final, denovo.rewards[-1], atol=1e-5)
    table = denovo.table("denovo", "tiny")
    assert len(table) == 3 * 15 and set(table["parametrisation"]) == {"fourier"} and (table["lr"] == 0.05).all()


def test_fourier_init_modes_are_standard_normal():
    p = FourierTransitions(50, 16, 16, generator=torch.Generator().manual_seed(0))
    modes = p.spectrum.detach().numpy().ravel()
    assert modes.mean() == pytest.approx(0, abs=0.02) and modes.std() == pytest.approx(1, abs=0.02)
    assert p().shape == (50, 6, 16, 16)


def test_pixel_optimisation_from_transitions_snapshots_and_range(model):
    rng = np.random.default_rng(0)
    obs = torch.from_numpy(rng.integers(0, 256, (4, 3, 12, 12), dtype=np.uint8))
    nxt = torch.from_numpy(rng.integers(0, 256, (4, 3, 12, 12), dtype=np.uint8))
    vis = optimize_transitions(model, obs, nxt, torch.tensor([0, 3, 3, 14]), steps=16, max_shift=2, snapshots=(8, 16, 32))
    assert vis.steps == [0, 8, 16]
    assert torch.equal(vis.obs[0], obs.float() / 255) and torch.equal(vis.next_obs[0], nxt.float() / 255)
    assert (np.diff(vis.rewards.numpy(), axis=0) > 0).all()
    assert vis.obs.min() >= 0 and vis.obs.max() <= 1 and vis.next_obs.min() >= 0 and vis.next_obs.max() <= 1


def test_random_translation_is_a_crop_at_a_seeded_offset():
    x = torch.arange(2 * 6 * 10 * 10, dtype=torch.float32).view(2, 6, 10, 10)
    gen = torch.Generator().manual_seed(0)
    crops = [random_translate(x, 3, gen) for _ in range(20)]
    assert all(c.shape == (2, 6, 7, 7) for c in crops)
    offsets = {(int(c[0, 0, 0, 0]) // 10, int(c[0, 0, 0, 0]) % 10) for c in crops}
    assert len(offsets) > 3 and all(0 <= oy <= 3 and 0 <= ox <= 3 for oy, ox in offsets)
    with pytest.raises(ValueError, match="smaller than the image"):
        random_translate(x, 10, gen)


def test_scrambles_keep_pixel_values_and_joint_keeps_pairs():
    gen = torch.Generator().manual_seed(0)
    obs, nxt = torch.rand(2, 3, 5, 5, generator=gen), torch.rand(2, 3, 5, 5, generator=gen)

    def pairs(o, x, i):
        return sorted(map(tuple, torch.cat([o[i], x[i]]).reshape(6, -1).T.tolist()))

    so, sx = scramble_pixels(obs, nxt, joint=True, seed=0)
    assert not torch.equal(so, obs)
    assert all(pairs(so, sx, i) == pairs(obs, nxt, i) for i in range(2))  # each pixel moves with its RGB and next pixel
    io, ix = scramble_pixels(obs, nxt, joint=False, seed=0)
    assert sorted(map(tuple, ix[0].reshape(3, -1).T.tolist())) == sorted(map(tuple, nxt[0].reshape(3, -1).T.tolist()))
    assert pairs(io, ix, 0) != pairs(obs, nxt, 0)


def test_controls_table(model, denovo):
    o, x = monochrome_transitions((3, 4, 4))
    assert torch.equal(o[0, :, 2, 3], torch.tensor(PINK)) and torch.equal(x[0, :, 0, 0], torch.tensor(CYAN))
    df = denovo_controls(model, denovo, "tiny")
    assert set(df["control"]) == {"original", "scrambled-joint", "scrambled-independent", "pink-to-cyan"}
    orig = df[df["control"] == "original"]["predicted_reward"].to_numpy()
    assert np.allclose(orig, denovo.rewards[-1].numpy(), atol=1e-5)
    assert len(df[df["control"] == "pink-to-cyan"]) == 15


def test_high_reward_starts_are_rewarded_and_closest_to_the_target(tmp_path, model):
    ds = TransitionDataset(write_transition_dataset(tmp_path / "ds", n_shards=2, episodes_per_shard=8, steps=3, size=12))
    start = high_reward_transitions(model, ds, n=3, target=0.0, split=None)
    assert (start["reward"] > 0).all() and len(start["row"]) == 3
    rewarded = ds.rows(None, where=ds.column("reward") > 0)
    everything = ds.load(rewarded)
    preds = predict_rewards(model, everything["obs"], everything["next_obs"], everything["action"])
    assert np.allclose(np.sort(np.abs(start["predicted_reward"].numpy())), np.sort(np.abs(preds.numpy()))[:3], atol=1e-6)


def test_cli_visualize_denovo_and_from_dataset(tmp_path, model, capsys):
    from nnstructure.cli import main

    save_checkpoint(tmp_path / "net.pt", model, {"spec": SPEC})
    rc = main(["visualize-reward", str(tmp_path / "net.pt"), "--mode", "denovo", "--steps", "4", "--snapshots", "2",
               "--max-shift", "2", "--out", str(tmp_path / "dn")])
    assert rc == 0 and json.loads(capsys.readouterr().out.strip())["steps"] == 4
    assert len(pd.read_parquet(tmp_path / "dn" / "predictions.parquet")) == 3 * 15
    assert (tmp_path / "dn" / "denovo.png").stat().st_size > 0 and (tmp_path / "dn" / "controls.parquet").exists()
    with np.load(tmp_path / "dn" / "images.npz") as z:
        assert z["obs"].dtype == np.uint8 and z["obs"].shape == (3, 15, 3, 12, 12)
    ds_dir = write_transition_dataset(tmp_path / "ds", n_shards=1, episodes_per_shard=6, steps=2, size=12)
    rc = main(["visualize-reward", str(tmp_path / "net.pt"), "--mode", "from-dataset", "--dataset", str(ds_dir), "--n", "2",
               "--split", "train", "--steps", "8", "--max-shift", "2", "--out", str(tmp_path / "fd")])
    assert rc == 0
    table = pd.read_parquet(tmp_path / "fd" / "predictions.parquet")
    assert sorted(set(table["step"])) == [0, 8] and table["item"].nunique() == 2


def test_cli_visualize_from_edits(tmp_path, model):
    from nnstructure.cli import main
    from test_reward_noise import write_edits

    write_edits(tmp_path / "edits", n=2, size=12)
    save_checkpoint(tmp_path / "net.pt", model, {"spec": SPEC})
    assert main(["visualize-reward", str(tmp_path / "net.pt"), "--mode", "from-edits", "--edits", str(tmp_path / "edits"),
                 "--steps", "4", "--snapshots", "2", "--max-shift", "2", "--out", str(tmp_path / "fe")]) == 0
    table = pd.read_parquet(tmp_path / "fe" / "predictions.parquet")
    assert sorted(set(table["step"])) == [0, 2, 4] and set(table["mode"]) == {"from-edits"}
    assert main(["visualize-reward", str(tmp_path / "net.pt"), "--mode", "from-edits", "--edits", str(tmp_path / "edits"),
                 "--edit", "nope", "--out", str(tmp_path / "x")]) == 1
