"""Table 5.2's edited transitions: made in the game state, rewarded by the game itself."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("procgen")

from nnstructure.cli import main  # noqa: E402
from nnstructure.reward import state as st  # noqa: E402
from nnstructure.reward.edits import (  # noqa: E402
    JUMP_UP, EditRejected, coin_above, game_reward, replay_to_step, translate,
)
from nnstructure.reward.env import GameEnv  # noqa: E402
from nnstructure.reward.rollout import ShardSpec, generate_shard  # noqa: E402
from nnstructure.reward.shards import merge_dataset, shard_paths  # noqa: E402


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    data = tmp_path_factory.mktemp("coinrun")
    generate_shard(ShardSpec("coinrun", 0, 4, seed=2, random_rate=0.0), data, progress=False)
    merge_dataset(data, expect_shards=1)
    out = tmp_path_factory.mktemp("edits")
    assert main(["edit-transitions", str(data), "--n", "2", "--seed", "0", "--out", str(out)]) == 0
    return data, out


def test_outputs_and_figures(edited):
    _, out = edited
    with np.load(out / "edited_transitions.npz") as z:
        assert z["obs"].shape == z["next_obs"].shape == (3, 2, 64, 64, 3) and z["obs"].dtype == np.uint8
        assert z["variants"].tolist() == ["original", "translated", "rearranged"]
        assert (z["action"][2] == JUMP_UP).all()
    table = pd.read_parquet(out / "edited_transitions.parquet")
    assert len(table) == 6 and (table["game_reward"] == 10).all()
    attempts = pd.read_parquet(out / "edit_attempts.parquet")
    assert attempts["ok"].sum() >= 4 and set(attempts["edit"]) == {"translated", "rearranged"}
    for name in ("fig_5_16.png", "fig_5_17.png", *(f"fig_c{k:02d}.png" for k in range(8, 14))):
        assert (out / name).stat().st_size > 1000


def test_edits_earn_reward_10_in_the_game(edited):
    data, out = edited
    dataset = pd.read_parquet(data / "transitions.parquet")
    table = pd.read_parquet(out / "edited_transitions.parquet")
    aux = GameEnv("coinrun", "hard", 0)
    with np.load(shard_paths(data, 0)[0]) as z:
        frames = z["frames"]
    with np.load(out / "edited_transitions.npz") as z:
        obs, next_obs = z["obs"], z["next_obs"]
    for i, rows in table.groupby("index"):
        rec = dataset.loc[int(rows["dataset_row"].iloc[0])]
        ep = dataset[dataset["episode"] == rec["episode"]].sort_values("step")
        env = GameEnv("coinrun", "hard", int(rec["level_seed"]))
        pre = st.parse_state(replay_to_step(env, ep["action"].to_numpy(), int(rec["step"])))
        shift = int(rows.loc[rows["variant"] == "translated", "shift_cells"].iloc[0])
        assert shift < 0
        assert game_reward(aux, pre.raw, int(rec["action"])) == 10
        assert game_reward(aux, translate(pre, shift), int(rec["action"])) == 10
        assert game_reward(aux, coin_above(pre), JUMP_UP) == 10
        # without the coin the same moves earn nothing: the reward is the coin's
        gx, gy = st.coin_cell(pre)
        assert game_reward(aux, st.with_grid_cells(pre, {(gx, gy): st.SPACE, (0, 63): st.COINRUN_GOAL}),
                           int(rec["action"])) == 0
        # the original is the stored dataset transition; the edits change the pictures
        assert np.array_equal(obs[0, i], frames[int(rec["obs_frame"])])
        assert np.array_equal(next_obs[0, i], frames[int(rec["next_obs_frame"])])
        for v in (1, 2):
            changed = np.any(obs[v, i] != obs[0, i], axis=-1)
            assert 0 < changed.mean() < 0.2  # only the sprite and the coin moved; the scene stays


def test_impossible_edits_are_rejected():
    env = GameEnv("coinrun", "hard", 9)
    s = env.state()
    with pytest.raises(EditRejected, match="not empty"):
        translate(s, +1)  # right of the coin is the level's end wall
    env.step(5)  # jump: in the air now
    env.step(5)
    airborne = env.state()
    raw = coin_above(airborne)  # the agent is put back on the ground below it
    edited = st.parse_state(raw)
    assert edited.agent["vy"] == 0 and edited.agent["y"] < airborne.agent["y"]
    assert st.coin_cell(edited) == (int(edited.agent["x"]), int(edited.agent["y"] + edited.agent["ry"]) + 1)
