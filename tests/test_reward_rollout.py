"""Transition datasets: shards, frames stored once, rebuilt terminal frames, Heist discard,
statistics, truncated shards, imitation-npz import."""

import functools
import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("procgen")

from nnstructure.cli import main  # noqa: E402
from nnstructure.io import ArtifactError  # noqa: E402
from nnstructure.reward import state as st  # noqa: E402
from nnstructure.reward.env import GameEnv  # noqa: E402
from nnstructure.reward.imitation_import import import_imitation_npz  # noqa: E402
from nnstructure.reward.rollout import ShardSpec, generate_shard  # noqa: E402
from nnstructure.reward.shards import (  # noqa: E402
    dataset_summary, merge_dataset, shard_paths, split_episodes, TRANSITION_COLUMNS,
)
from nnstructure.reward.terminal import replay_step_without_ending  # noqa: E402


def _frames(path, shard):
    return _load_frames(str(shard_paths(path, shard)[0]), shard_paths(path, shard)[0].stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_frames(npz, mtime):
    with np.load(npz) as z:
        return z["frames"]


@pytest.fixture(scope="module")
def coinrun_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("coinrun")
    for shard in range(2):
        generate_shard(ShardSpec("coinrun", shard, 2, seed=5, distribution_mode="easy"), out, progress=False)
    table, summary = merge_dataset(out, expect_shards=2, test_fraction=0.25)
    return out, table, summary


@pytest.fixture(scope="module")
def heist_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("heist")
    for shard in range(2):
        assert main(["transitions", "--game", "heist", "--policy", "maze", "--random-rate", "0.5", "--episodes", "2",
                     "--shard", str(shard), "--seed", "1", "--distribution-mode", "easy", "--zero-reward-discard",
                     "0.5", "--out", str(out), "--quiet"]) == 0
    assert main(["transitions-merge", str(out), "--expect-shards", "2"]) == 0
    return out, pd.read_parquet(out / "transitions.parquet"), pd.read_parquet(out / "summary.parquet")


def test_table_layout_and_levels(coinrun_dataset):
    path, table, _ = coinrun_dataset
    assert list(table.columns) == list(TRANSITION_COLUMNS) + ["split"]
    episodes = table.groupby("episode")
    assert sorted(episodes.groups) == [0, 1, 2, 3]  # shard * episodes + j
    levels = episodes["level_seed"].first().to_numpy()
    np.testing.assert_array_equal(levels, 5_000_000 + np.arange(4))  # level_start = seed * 1e6
    for _, ep in episodes:
        assert ep["step"].tolist() == list(range(len(ep)))
        assert ep["done"].tolist() == [False] * (len(ep) - 1) + [True]
        # positions describe the next observation: the next row's observation agent is this row's agent
        np.testing.assert_array_equal(ep["obs_agent_x"].to_numpy()[1:], ep["agent_x"].to_numpy()[:-1])


def test_frames_stored_once_and_terminal_frame_rebuilt(coinrun_dataset):
    path, table, _ = coinrun_dataset
    for shard, part in table.groupby("shard"):
        frames = _frames(path, shard)
        assert len(frames) == len(part) + part["episode"].nunique()  # T + 1 frames per episode
        for _, ep in part.groupby("episode"):
            np.testing.assert_array_equal(ep["next_obs_frame"].to_numpy()[:-1], ep["obs_frame"].to_numpy()[1:])
        # replay the shard's first episode: every frame and the rebuilt last frame match
        ep = part[part["episode"] == part["episode"].min()]
        env, aux = GameEnv("coinrun", "easy", int(ep["level_seed"].iloc[0])), GameEnv("coinrun", "easy", 0)
        env.queue_level(int(ep["level_seed"].iloc[0]) + 1)  # the level of the shard's next episode
        for row in ep.itertuples():
            assert np.array_equal(env.obs, frames[row.obs_frame])
            pre = env.get_state()
            step = env.step(int(row.action))
            assert step.reward == row.reward and step.done == row.done
        last = frames[ep["next_obs_frame"].iloc[-1]]
        assert np.array_equal(last, replay_step_without_ending(aux, pre, int(ep["action"].iloc[-1]))[0])
        assert not np.array_equal(last, step.obs)  # procgen's frame after done is the next level's
        nxt = part[(part["episode"] == ep["episode"].iloc[0] + 1) & (part["step"] == 0)]
        assert np.array_equal(frames[nxt["obs_frame"].iloc[0]], step.obs)


def test_reward_is_10_exactly_at_goal_contact(coinrun_dataset, heist_dataset):
    for _, table, _ in (coinrun_dataset, heist_dataset):
        rewarded = table["reward"] > 0
        assert (table.loc[rewarded, "reward"] == 10).all() and table.loc[rewarded, "done"].all()
        assert (table.loc[rewarded, "distance_raw"] < 1.5).all()


def test_heist_discard_keeps_every_reward_and_drops_about_half(heist_dataset):
    path, table, summary = heist_dataset
    assert table.loc[table["reward"] > 0, "kept"].all()
    zero = table[table["reward"] == 0]
    n, dropped = len(zero), int((~zero["kept"]).sum())
    assert abs(dropped - 0.5 * n) < 4 * np.sqrt(0.25 * n)  # binomial(n, 0.5), 4 sigma
    assert (table.loc[~table["kept"], ["obs_frame", "next_obs_frame"]] == -1).all().all()
    kept = table[table["kept"]]
    for shard, part in kept.groupby("shard"):
        used = np.union1d(part["obs_frame"], part["next_obs_frame"])
        np.testing.assert_array_equal(used, np.arange(len(_frames(path, shard))))  # every stored frame is used once
    assert summary["transitions"].iloc[0] == len(table)
    assert summary["kept_transitions"].iloc[0] == len(kept)
    assert summary["policy"].iloc[0] == "maze(random=0.5)"


def test_discarded_rows_are_named_when_asked_for_their_frames(heist_dataset):
    from nnstructure.reward.transitions import TransitionDataset

    path, table, _ = heist_dataset
    ds = TransitionDataset(path)
    dropped = np.flatnonzero(~table["kept"].to_numpy())
    kept = np.flatnonzero(ds.mask())
    assert len(ds.load(kept[:3])["obs"]) == 3
    with pytest.raises(ValueError, match=r"have no frames: the dataset's zero-reward discard dropped them \(kept = False\)"):
        ds.load([kept[0], dropped[0]])


def test_shards_are_reproducible(heist_dataset, tmp_path):
    path, table, _ = heist_dataset
    generate_shard(ShardSpec("heist", 1, 2, seed=1, distribution_mode="easy", policy="maze", random_rate=0.5,
                             zero_reward_discard=0.5), tmp_path, progress=False)
    again = pd.read_parquet(shard_paths(tmp_path, 1)[1])
    pd.testing.assert_frame_equal(again, pd.read_parquet(shard_paths(path, 1)[1]))
    np.testing.assert_array_equal(_frames(tmp_path, 1), _frames(path, 1))


def test_summary_statistics_hand_computed():
    # 3 episodes: ep 0 rewarded at its end (3 steps), ep 1 not (2 steps), ep 2 rewarded (1 step); one row dropped
    table = pd.DataFrame({
        "episode": [0, 0, 0, 1, 1, 2], "shard": 0, "reward": [0, 0, 10, 0, 0, 10.0],
        "kept": [True, True, True, False, True, True], "random_action": [True, False, False, False, False, False],
        "coin_visible": [False, True, True, False, False, True], "split": ["train"] * 3 + ["test"] * 2 + ["train"],
        "game": "coinrun", "distribution_mode": "hard", "policy": "p",
    })
    row = dataset_summary(table).iloc[0]
    assert row["episodes"] == 3 and row["transitions"] == 6
    assert row["episodes_rewarded_frac"] == pytest.approx(2 / 3)
    assert row["transitions_rewarded_frac"] == pytest.approx(2 / 6)
    assert row["kept_transitions"] == 5 and row["kept_rewarded_frac"] == pytest.approx(2 / 5)
    assert row["mean_guess_mse"] == pytest.approx(np.var([0, 0, 10, 0, 10]))  # 24.0
    assert row["train_transitions"] == 4 and row["test_transitions"] == 1
    assert row["mean_episode_length"] == pytest.approx(2.0)
    assert row["random_action_frac"] == pytest.approx(1 / 6)
    assert row["thesis_episodes_rewarded_frac"] == 0.936 and row["thesis_mean_guess_mse"] == 0.92


def test_split_is_by_episode_and_seeded(coinrun_dataset):
    test = split_episodes(np.arange(200), 0.1, seed=3)
    assert test.sum() == 20
    np.testing.assert_array_equal(test, split_episodes(np.arange(200), 0.1, seed=3))
    assert not np.array_equal(test, split_episodes(np.arange(200), 0.1, seed=4))
    _, table, summary = coinrun_dataset
    assert (table.groupby("episode")["split"].nunique() == 1).all()
    assert (table.groupby("episode")["split"].first() == "test").sum() == 1  # round(0.25 * 4)
    assert summary["train_transitions"].iloc[0] + summary["test_transitions"].iloc[0] == len(table)


def test_truncated_or_missing_shard_is_refused(coinrun_dataset, tmp_path):
    path, _, _ = coinrun_dataset
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    npz = shard_paths(copy, 1)[0]
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"shard-00001\.npz is truncated or corrupt"):
        merge_dataset(copy)
    with open(npz, "wb") as fh:  # a complete file with the wrong number of frames
        np.savez_compressed(fh, frames=np.zeros((3, 64, 64, 3), np.uint8))
    with pytest.raises(ArtifactError, match=r"holds 3 frames but .* uses"):
        merge_dataset(copy)
    shard_paths(copy, 1)[1].unlink()
    with pytest.raises(ArtifactError, match=r"shards \[1\] of 0..1 are missing"):
        merge_dataset(copy, expect_shards=2)


def _to_imitation_npz(path, table, file, with_infos=True):
    """Write a dataset in the imitation library's npz layout (what other code would have saved)."""
    obs, acts, rews, infos, terminal, lengths = [], [], [], [], [], []
    for (shard, _), ep in table.groupby(["shard", "episode"]):
        frames = _frames(path, shard)
        obs.extend(frames[ep["obs_frame"]])
        obs.append(frames[ep["next_obs_frame"].iloc[-1]])
        acts.extend(ep["action"])
        rews.extend(ep["reward"])
        infos.extend({"agent_pos": (r.agent_x, r.agent_y), "goal_pos": (r.goal_x, r.goal_y), "level_seed": r.level_seed}
                     for r in ep.itertuples())
        terminal.append(bool(ep["done"].iloc[-1]))
        lengths.append(len(ep))
    parts = {"obs": np.stack(obs), "acts": np.asarray(acts), "rews": np.asarray(rews, np.float32),
             "terminal": np.asarray(terminal), "indices": np.cumsum(lengths[:-1])}
    if with_infos:
        parts["infos"] = np.array(infos, dtype=object)
    np.savez_compressed(file, **parts)


def test_import_of_imitation_layout(coinrun_dataset, tmp_path):
    path, table, _ = coinrun_dataset
    table = table.sort_values(["episode", "step"]).reset_index(drop=True)
    _to_imitation_npz(path, table, tmp_path / "rollouts.npz")
    with pytest.raises(ValueError, match="--trust-pickle"):
        import_imitation_npz(tmp_path / "rollouts.npz", tmp_path / "no", "coinrun")
    assert main(["transitions-import", str(tmp_path / "rollouts.npz"), "--out", str(tmp_path / "imp"), "--game",
                 "coinrun", "--trust-pickle", "--episodes-per-shard", "3"]) == 0
    imported = pd.read_parquet(tmp_path / "imp" / "transitions.parquet").sort_values(["episode", "step"])
    assert len(imported) == len(table) and imported["shard"].nunique() == 2
    for col in ("action", "reward", "done", "agent_x", "goal_y", "distance", "coin_visible", "level_seed", "step"):
        np.testing.assert_array_equal(imported[col].to_numpy(), table[col].to_numpy())
    for (s0, f0), (s1, f1) in zip(table[["shard", "next_obs_frame"]].to_numpy(),
                                  imported[["shard", "next_obs_frame"]].to_numpy()):
        assert np.array_equal(_frames(path, s0)[f0], _frames(tmp_path / "imp", s1)[f1])
    # without infos: no positions, but everything else
    n = import_imitation_npz(tmp_path / "rollouts.npz", tmp_path / "bare", "coinrun", ignore_infos=True)
    merge_dataset(tmp_path / "bare", expect_shards=n)
    bare = pd.read_parquet(tmp_path / "bare" / "transitions.parquet")
    assert bare["agent_x"].isna().all() and bare["distance"].isna().all() and not bare["coin_visible"].any()
    assert (bare["level_seed"] == -1).all()
    np.testing.assert_array_equal(bare["reward"].to_numpy(), table["reward"].to_numpy())


def test_import_rejects_inconsistent_files(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, obs=np.zeros((5, 64, 64, 3), np.uint8), acts=np.zeros(4, int), rews=np.zeros(4),
             terminal=np.array([True, True]), indices=np.array([2]))
    with pytest.raises(ValueError, match="do not make 2 trajectories"):
        import_imitation_npz(bad, tmp_path / "out", "heist")
    np.savez(bad, obs=np.zeros((3, 64, 64, 3), np.uint8), acts=np.zeros(2, int))
    with pytest.raises(ValueError, match="not the imitation npz layout"):
        import_imitation_npz(bad, tmp_path / "out", "heist")


def test_reader_streams_the_dataset(coinrun_dataset):
    from nnstructure.reward.transitions import TransitionDataset

    path, table, _ = coinrun_dataset
    ds = TransitionDataset(path)
    batch = next(ds.batches("train", 8, shuffle=False, columns=("row", "distance")))
    rows = batch["row"].numpy()
    frames = _frames(path, int(table["shard"].iloc[rows[0]]))
    assert batch["obs"].shape == (8, 3, 64, 64)
    np.testing.assert_array_equal(batch["obs"][0].permute(1, 2, 0).numpy(), frames[table["obs_frame"].iloc[rows[0]]])
    np.testing.assert_allclose(batch["distance"].numpy(), table["distance"].to_numpy()[rows])


def test_positions_match_a_fresh_parse(heist_dataset):
    _, table, _ = heist_dataset
    ep = table[table["episode"] == 0]
    env = GameEnv("heist", "easy", int(ep["level_seed"].iloc[0]))
    for row in ep.itertuples():
        step = env.step(int(row.action))
        if step.done:
            break
        p = st.positions(env.state())
        assert (p.agent_x, p.agent_y, p.goal_x, p.goal_y) == pytest.approx((row.agent_x, row.agent_y, row.goal_x, row.goal_y))
