"""The terminal frame a reward net sees: real, or the observation repeated (procgen's gym env, the original code)."""

import numpy as np
import pytest
import torch

from nnstructure.checkpoint import save_checkpoint
from nnstructure.models import build_model, reward_net_spec
from nnstructure.reward.nets import reward_net_row, train_reward_net
from nnstructure.reward.noise import predict_edits_checkpoint
from nnstructure.reward.terminal_frames import (
    edit_sets_with_terminal_frame,
    network_terminal_frame,
    next_obs_frames,
)
from nnstructure.reward.transitions import TransitionDataset
from test_reward_noise import write_edits
from test_reward_transitions_data import write_transition_dataset


def test_repeat_points_only_the_terminal_next_observations_at_their_observation():
    obs = np.array([0, 1, 2, 4, 5])
    nxt = np.array([1, 2, 3, 5, 6])
    done = np.array([False, False, True, False, True])
    assert next_obs_frames(obs, nxt, done, "real") is nxt
    rep = next_obs_frames(obs, nxt, done, "repeat")
    assert rep.tolist() == [1, 2, 2, 5, 5] and nxt.tolist() == [1, 2, 3, 5, 6]  # the table's column untouched
    with pytest.raises(ValueError, match="terminal_frame 'last'.*real, repeat"):
        next_obs_frames(obs, nxt, done, "last")


def test_a_repeat_dataset_gives_terminal_transitions_two_identical_frames(tmp_path):
    root = write_transition_dataset(tmp_path / "ds", n_shards=2, episodes_per_shard=3, steps=3, size=8)
    real = TransitionDataset(root)
    repeat = TransitionDataset(root, terminal_frame="repeat")
    assert real.terminal_frame == "real" and "repeat" in repr(repeat)
    columns = ("done", "row")
    a = next(real.batches(None, 1000, shuffle=False, columns=columns))
    b = next(repeat.batches(None, 1000, shuffle=False, columns=columns))
    done = a["done"].bool()
    assert done.sum() == 6 and torch.equal(a["row"], b["row"]) and torch.equal(a["obs"], b["obs"])
    assert torch.equal(b["next_obs"][done], b["obs"][done])           # the observation again
    assert not torch.equal(a["next_obs"][done], a["obs"][done])       # the real last frame differs
    assert torch.equal(b["next_obs"][~done], a["next_obs"][~done])    # every other transition as stored
    loaded = repeat.load([int(r) for r in b["row"][done]])
    assert torch.equal(loaded["next_obs"], loaded["obs"])


def test_edit_sets_repeat_the_original_and_translated_frames_only(tmp_path):
    from nnstructure.reward.noise import load_edit_sets

    write_edits(tmp_path / "edits", n=2)
    sets = load_edit_sets(tmp_path / "edits")
    assert edit_sets_with_terminal_frame(sets, "real") is sets
    rep = edit_sets_with_terminal_frame(sets, "repeat")
    for name in ("original", "translated"):
        assert torch.equal(rep[name]["next_obs"], sets[name]["obs"])
        assert torch.equal(rep[name]["obs"], sets[name]["obs"])
    # the rearranged edit's next observation shows the sprite jumping up to the coin: a different frame by construction
    assert torch.equal(rep["rearranged"]["next_obs"], sets["rearranged"]["next_obs"])


def test_the_setting_is_read_from_either_kind_of_checkpoint():
    assert network_terminal_frame({}) == "real"  # trained before the setting existed, or made elsewhere
    assert network_terminal_frame({"reward_net_settings": {"terminal_frame": "repeat"}}) == "repeat"
    assert network_terminal_frame({"adversarial_settings": {"terminal_frame": "repeat"}}) == "repeat"
    with pytest.raises(ValueError, match="terminal_frame"):
        network_terminal_frame({"reward_net_settings": {"terminal_frame": "nope"}})


def test_a_repeat_net_records_its_setting_and_scores_the_edits_as_it_learnt_them(tmp_path):
    root = write_transition_dataset(tmp_path / "ds", n_shards=2, episodes_per_shard=4, steps=3, size=8)
    out = tmp_path / "net.pt"
    train_reward_net(root, {"width_multiplier": 1 / 32, "batch_size": 16, "epochs": 1, "terminal_frame": "repeat",
                            "precision": "fp32"}, 0, out, progress=False)
    row = reward_net_row(out)
    assert row["terminal_frame"] == "repeat"
    obs, nxt, action = write_edits(tmp_path / "edits", n=3, size=8)
    table = predict_edits_checkpoint(out, tmp_path / "edits")
    assert set(table["terminal_frame"]) == {"repeat"}
    from nnstructure.checkpoint import load_checkpoint

    model = load_checkpoint(out).model.eval()

    def predicted(k, next_frames):
        x = torch.cat([torch.from_numpy(obs[k]).permute(0, 3, 1, 2),
                       torch.from_numpy(next_frames).permute(0, 3, 1, 2)], 1).float() / 255
        with torch.no_grad():
            return model(x)[torch.arange(3), torch.from_numpy(action[k])].numpy()

    original = table[table["edit"] == "original"].sort_values("example")["predicted_reward"].to_numpy()
    rearranged = table[table["edit"] == "rearranged"].sort_values("example")["predicted_reward"].to_numpy()
    assert np.allclose(original, predicted(0, obs[0]), atol=1e-5)       # (obs, obs)
    assert np.allclose(rearranged, predicted(2, nxt[2]), atol=1e-5)     # (obs, its own next frame)
    # a net saved without the setting is scored on the real frames
    spec = reward_net_spec([6, 8, 8], width_multiplier=1 / 32)
    save_checkpoint(tmp_path / "old.pt", build_model(spec, seed=0), {"spec": spec})
    assert set(predict_edits_checkpoint(tmp_path / "old.pt", tmp_path / "edits")["terminal_frame"]) == {"real"}


def test_a_resume_state_of_the_real_frames_is_not_continued_on_repeated_ones(tmp_path):
    from nnstructure.reward.training_data import TransitionTraining

    root = write_transition_dataset(tmp_path / "ds", n_shards=2, episodes_per_shard=3, steps=3, size=8)
    cpu = torch.device("cpu")
    real = TransitionTraining(TransitionDataset(root)).training_data(cpu)
    repeat = TransitionTraining(TransitionDataset(root, terminal_frame="repeat")).training_data(cpu)
    assert real.sampling is None  # unchanged for the real frames: earlier resume states stay valid
    assert repeat.sampling == {"terminal_frame": "repeat"}
    both = TransitionTraining(TransitionDataset(root, terminal_frame="repeat"), 0.5).training_data(cpu)
    assert both.sampling["terminal_frame"] == "repeat" and both.sampling["zero_reward_discard"] == 0.5
