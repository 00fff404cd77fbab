"""Noise test (thesis 5.5, Table 5.1) and predictions on labelled transition sets (Table 5.2)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from nnstructure.checkpoint import save_checkpoint
from nnstructure.models import build_model, reward_net_spec
from nnstructure.reward.noise import (
    noise_images,
    noise_pairs,
    noise_test,
    noise_test_checkpoint,
    predict_transition_sets,
    summarize_predictions,
)

SPEC = reward_net_spec([6, 8, 8], width_multiplier=1 / 16, init="glorot")


@pytest.fixture(scope="module")
def model():
    return build_model(SPEC, seed=3).eval()


def test_noise_pixels_follow_the_clipped_or_raw_normal():
    gen = torch.Generator().manual_seed(0)
    raw = noise_images(400, (3, 8, 8), clip=False, generator=gen).numpy().ravel()
    assert raw.mean() == pytest.approx(0.5, abs=0.02) and raw.std() == pytest.approx(1.0, abs=0.02)
    assert stats.kstest(raw, "norm", args=(0.5, 1.0)).pvalue > 0.01
    clipped = noise_images(400, (3, 8, 8), clip=True, generator=torch.Generator().manual_seed(0)).numpy().ravel()
    assert np.array_equal(clipped, np.clip(raw, 0, 1))
    # P(N(0.5, 1) < 0) = P(> 1) = Phi(-0.5) = 0.3085: the mass clipping puts on black and on white
    assert (clipped == 0).mean() == pytest.approx(stats.norm.cdf(-0.5), abs=0.01)
    assert (clipped == 1).mean() == pytest.approx(stats.norm.cdf(-0.5), abs=0.01)


def test_pairings_share_the_observations():
    pairs = noise_pairs(5, (3, 8, 8), clip=True, seed=2)
    assert torch.equal(pairs["same"][0], pairs["same"][1]) and torch.equal(pairs["same"][0], pairs["different"][0])
    assert not torch.equal(pairs["different"][0], pairs["different"][1])


def test_noise_table_counts_every_action_and_summarises_by_hand(model):
    n = 6
    df = noise_test(model, n=n, clip=True, seed=1, network="tiny", frame_shape=(3, 8, 8))
    assert len(df) == 2 * n * 15 and set(df["action"]) == set(range(15))
    assert (df["clip"]).all() and set(df["noise_variant"]) == {"thesis-text"} and (df["n_images"] == n).all()
    obs, nxt = noise_pairs(n, (3, 8, 8), clip=True, seed=1)["different"]
    with torch.no_grad():
        expected = model(torch.cat([obs, nxt], dim=1)).numpy()
    got = df[df["pairing"] == "different"].sort_values(["image", "action"])["predicted_reward"].to_numpy()
    assert np.allclose(got, expected.ravel(), atol=1e-6)
    summary = summarize_predictions(df).set_index("pairing")
    assert summary.loc["different", "mean"] == pytest.approx(expected.mean(), rel=1e-5)
    assert summary.loc["different", "sd"] == pytest.approx(expected.std(ddof=1), rel=1e-5)
    assert summary.loc["different", "count"] == n * 15
    with torch.no_grad():
        same = model(torch.cat([obs, obs], dim=1)).numpy()
    assert summary.loc["same", "mean"] == pytest.approx(same.mean(), rel=1e-5)


def test_clip_choice_is_recorded_and_changes_the_inputs(model):
    a = noise_test(model, n=4, clip=True, seed=0, frame_shape=(3, 8, 8))
    b = noise_test(model, n=4, clip=False, seed=0, frame_shape=(3, 8, 8))
    assert set(b["noise_variant"]) == {"original-code"} and not b["clip"].any()
    assert not np.allclose(a["predicted_reward"], b["predicted_reward"])


def test_predictions_on_labelled_transition_sets(model):
    rng = np.random.default_rng(0)
    sets = {name: {"obs": torch.from_numpy(rng.integers(0, 256, (3, 3, 8, 8), dtype=np.uint8)),
                   "next_obs": torch.from_numpy(rng.integers(0, 256, (3, 3, 8, 8), dtype=np.uint8)),
                   "action": torch.tensor([1, 5, 14]), "example": np.array([4, 7, 9]), "reward": np.array([10.0, 10.0, 10.0])}
            for name in ("original", "translated")}
    df = predict_transition_sets(model, sets, network="tiny")
    assert list(df["edit"]) == ["original"] * 3 + ["translated"] * 3 and list(df["example"][:3]) == [4, 7, 9]
    s = sets["translated"]
    with torch.no_grad():
        out = model(torch.cat([s["obs"], s["next_obs"]], dim=1).float() / 255)
    assert np.allclose(df["predicted_reward"][3:], out[torch.arange(3), s["action"]].numpy(), atol=1e-6)
    assert (df["game_reward"] == 10).all()


def test_cli_noise_test_on_a_checkpoint(model, tmp_path, capsys):
    from nnstructure.cli import main

    save_checkpoint(tmp_path / "net.pt", model, {"spec": SPEC, "game": "coinrun", "epochs_trained": 3})
    rc = main(["noise-test", str(tmp_path / "net.pt"), "--n", "5", "--no-clip", "--json", "--out", str(tmp_path / "t.parquet")])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert {x["pairing"] for x in lines} == {"different", "same"} and all(x["noise_variant"] == "original-code" for x in lines)
    table = pd.read_parquet(tmp_path / "t.parquet")
    assert len(table) == 2 * 5 * 15 and (table["game"] == "coinrun").all() and (table["epochs"] == 3).all()
    direct = noise_test_checkpoint(tmp_path / "net.pt", n=5, clip=False)
    assert np.allclose(direct["predicted_reward"], table["predicted_reward"])
    d = [x for x in lines if x["pairing"] == "different"][0]
    assert math.isclose(d["mean"], table[table["pairing"] == "different"]["predicted_reward"].mean(), rel_tol=1e-9)


def write_edits(root, n=3, size=8, seed=0):
    """A tiny folder in the layout of `nnstructure edit-transitions` (frames HWC, variants first)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    variants = ("original", "translated", "rearranged")
    obs = rng.integers(0, 256, (3, n, size, size, 3), dtype=np.uint8)
    nxt = rng.integers(0, 256, (3, n, size, size, 3), dtype=np.uint8)
    action = rng.integers(0, 15, (3, n)).astype(np.int64)
    np.savez_compressed(root / "edited_transitions.npz", obs=obs, next_obs=nxt, action=action, variants=np.array(variants))
    pd.DataFrame([{"index": i, "variant": v, "action": int(action[k, i]), "game_reward": 10.0}
                  for k, v in enumerate(variants) for i in range(n)]).to_parquet(root / "edited_transitions.parquet")
    return obs, nxt, action


def test_edit_sets_are_read_channels_first_and_scored(model, tmp_path, capsys):
    from nnstructure.cli import main
    from nnstructure.io import ArtifactError
    from nnstructure.reward.noise import load_edit_sets

    obs, nxt, action = write_edits(tmp_path / "edits")
    sets = load_edit_sets(tmp_path / "edits")
    assert list(sets) == ["original", "translated", "rearranged"]
    assert torch.equal(sets["translated"]["obs"][2], torch.from_numpy(obs[1, 2]).permute(2, 0, 1))
    assert sets["rearranged"]["action"].tolist() == action[2].tolist() and (sets["original"]["reward"] == 10).all()
    save_checkpoint(tmp_path / "net.pt", model, {"spec": SPEC})
    assert main(["predict-transitions", str(tmp_path / "net.pt"), str(tmp_path / "edits"), "--json",
                 "--out", str(tmp_path / "p.parquet")]) == 0
    table = pd.read_parquet(tmp_path / "p.parquet")
    assert len(table) == 9 and set(table["edit"]) == {"original", "translated", "rearranged"}
    with torch.no_grad():
        x = torch.cat([torch.from_numpy(obs[2]).permute(0, 3, 1, 2), torch.from_numpy(nxt[2]).permute(0, 3, 1, 2)], 1).float() / 255
        expected = model(x)[torch.arange(3), torch.from_numpy(action[2])].numpy()
    assert np.allclose(table[table["edit"] == "rearranged"]["predicted_reward"], expected, atol=1e-6)
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    (tmp_path / "edits" / "edited_transitions.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        load_edit_sets(tmp_path / "edits")


def test_reward_net_made_elsewhere_is_tested_like_ours(tmp_path):
    """A TorchScript reward net gives the noise-test predictions of the same weights in our checkpoint; a
    network of the wrong shape is refused with its output shape named."""
    spec = reward_net_spec([6, 64, 64], width_multiplier=1 / 16, init="glorot")
    net = build_model(spec, seed=1).eval()
    save_checkpoint(tmp_path / "ours.pt", net, {"spec": spec, "game": "coinrun", "epochs_trained": 0})
    torch.jit.save(torch.jit.script(net), tmp_path / "external.pt")
    ours = noise_test_checkpoint(tmp_path / "ours.pt", n=3)
    external = noise_test_checkpoint(tmp_path / "external.pt", n=3)
    assert np.allclose(ours["predicted_reward"], external["predicted_reward"], atol=1e-5)
    wrong = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6 * 64 * 64, 4))
    torch.jit.save(torch.jit.script(wrong), tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match=r"gives \(1, 4\)"):
        noise_test_checkpoint(tmp_path / "wrong.pt", n=3)
