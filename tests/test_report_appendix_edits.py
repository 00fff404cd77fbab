"""Figures C.14-C.21: the appendix's further edits of Table 5.2's transitions, made in the game state (or the
pixels), rewarded by the game, predicted by the reward nets, drawn one figure per edit."""

import numpy as np
import pandas as pd
import pytest

from nnstructure.reward import appendix_edits as ae


def test_paint_bands_paints_every_other_band_of_the_masked_pixels_in_the_given_colours():
    frame = np.zeros((4 * ae.BAND, 12, 3), np.uint8)
    mask = np.ones(frame.shape[:2], bool)
    mask[:, 0] = False
    colours = np.array([[255, 200, 0], [250, 150, 0]], np.uint8)
    out = ae.paint_bands(frame, mask, colours)
    painted = (out != 0).any(axis=-1)
    bands = (np.arange(4 * ae.BAND) // ae.BAND) % 2 == 0
    assert np.array_equal(painted, mask & bands[:, None])
    assert np.array_equal(out[0, 1], colours[0]) and np.array_equal(out[0, 3], colours[1])  # 3 pixels a colour
    assert not frame.any()  # the input is not changed


def test_the_table_drops_predictions_of_edits_not_made_and_orders_by_figure():
    made = pd.DataFrame({"index": [0, 1, 0], "variant": ["coin-removed", "coin-removed", "coin-on-agent"],
                         "game_reward": [0.0, 0.0, 10.0]})
    predictions = pd.DataFrame({"network": "net", "edit": ["coin-removed"] * 3 + ["coin-on-agent"] * 2,
                                "example": [0, 1, 2, 0, 1], "predicted_reward": [1.0, 3.0, 100.0, 9.0, 50.0]})
    table = ae.appendix_edits_table(predictions, made)
    assert list(table["figure"]) == ["Figure C.14", "Figure C.18"]
    c18 = table.iloc[1]
    assert (c18["edited_transitions"], c18["predicted_mean"], c18["game_reward"]) == (2, 2.0, 0.0)
    assert c18["predicted_sd"] == pytest.approx(np.sqrt(2))
    assert table.iloc[0]["edited_transitions"] == 1 and np.isnan(table.iloc[0]["predicted_sd"])


# --- on the game ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def level():
    pytest.importorskip("procgen")
    from nnstructure.reward import state as st
    from nnstructure.reward.env import GameEnv

    for seed in range(40):  # a level with an enemy or saw, for C.15
        env = GameEnv("coinrun", "hard", seed)
        s = env.state()
        if np.isin(s.entities["type"], (st.COINRUN_ENEMY, st.COINRUN_SAW)).any():
            return env, s
    pytest.skip("no hard CoinRun level with an enemy among the first 40")


def test_state_edits_change_what_they_say(level):
    from nnstructure.reward import state as st

    _, s = level
    gx, gy = st.coin_cell(s)
    parse = lambda raw: st.parse_state(raw, "coinrun")  # noqa: E731
    removed = parse(ae.coin_removed(s))
    assert (removed.grid == st.COINRUN_GOAL).sum() == 0 and removed.grid[gy, gx] == st.SPACE
    on_agent = parse(ae.coin_on_agent(s))
    xs, ys = ae._agent_cells(s)
    assert st.coin_cell(on_agent) == (int(np.float32(s.agent["x"])), ys.stop - 1)
    many = parse(ae.many_coins(s))
    assert (many.grid == st.COINRUN_GOAL).sum() >= 1 + 3 and many.grid[gy, gx] == st.COINRUN_GOAL
    assert not (many.grid[ys.start - 1:ys.stop + 1, xs.start - 1:xs.stop + 1] == st.COINRUN_GOAL).any()
    platform = parse(ae.platform_continues(s))
    column = s.grid[:, gx].copy()
    column[gy] = st.SPACE
    right = range(gx + 1, min(s.grid.shape[1] - 1, gx + 1 + ae.PLATFORM_COLUMNS))
    assert all(np.array_equal(platform.grid[:, x], column) for x in right)
    assert np.array_equal(platform.grid[:, :gx], s.grid[:, :gx])
    enemy = parse(ae.enemy_for_coin(s))
    assert len(enemy.entities) == len(s.entities) + 1 and (enemy.grid == st.COINRUN_GOAL).sum() == 0
    new = [e for e in enemy.entities if e["x"] == np.float32(gx + 0.5) and e["y"] == np.float32(gy + 0.5)]
    assert len(new) == 1 and new[0]["type"] in (st.COINRUN_ENEMY, st.COINRUN_SAW) and new[0]["vx"] == 0
    assert enemy.agent["x"] == s.agent["x"]
    invisible = parse(ae.agent_removed(s))
    assert invisible.agent["alpha"] == 0 and invisible.agent["x"] == s.agent["x"]


def test_pixel_edits_find_the_coin_colours_and_leave_the_agent_and_walls(level):
    env, s = level
    camera = (float(s.agent["x"]), float(s.agent["y"]))
    from nnstructure.reward.terminal import render_with_camera

    from nnstructure.reward import state as st

    frame = render_with_camera(env, s.raw, *camera).copy()
    gx, gy = st.coin_cell(s)
    colours = ae.coin_colours(env, s.raw, (gx + 0.5, gy + 0.5))  # the camera on the coin
    with pytest.raises(ae.EditRejected, match="coin is not in the picture"):
        ae.coin_colours(env, s.raw, (gx + 60.5, gy + 0.5))
    mask = ae.background_mask(env, s.raw, camera)
    agent = (frame != render_with_camera(env, ae.agent_removed(s), *camera)).any(axis=-1)
    assert agent.any() and not (mask & agent).any()
    assert 0.1 < mask.mean() < 1.0
    assert len(colours) >= 2 and not (colours == colours[0]).all()


@pytest.fixture(scope="module")
def appendix(tmp_path_factory):
    pytest.importorskip("procgen")
    from nnstructure.cli import main
    from nnstructure.reward.rollout import ShardSpec, generate_shard
    from nnstructure.reward.shards import merge_dataset

    data = tmp_path_factory.mktemp("coinrun")
    generate_shard(ShardSpec("coinrun", 0, 4, seed=2, random_rate=0.0), data, progress=False)
    merge_dataset(data, expect_shards=1)
    edits = tmp_path_factory.mktemp("edits")
    assert main(["edit-transitions", str(data), "--n", "2", "--seed", "0", "--out", str(edits)]) == 0
    out = tmp_path_factory.mktemp("appendix")
    counts = ae.make_appendix_edits(data, edits, out)
    return data, edits, out, counts


def test_every_edit_of_every_transition_is_made_or_says_why(appendix):
    _, edits, out, counts = appendix
    table = pd.read_parquet(out / "edited_transitions.parquet")
    assert len(table) == 2 * len(ae.VARIANTS) and set(table["variant"]) == set(ae.VARIANTS)
    assert (table.loc[~table["made"], "reason"] != "").all() and (table.loc[table["made"], "reason"] == "").all()
    assert counts == table.groupby("variant")["made"].sum().to_dict()
    assert all(counts[v] == 2 for v in ae.VARIANTS if v != "enemy-for-coin")
    made = table[table["made"]].set_index("variant")
    # the game's reward: no coin, no reward; the untouched state of the background repaint keeps its 10
    assert (made.loc["coin-removed", "game_reward"] == 0).all()
    assert (made.loc["background-coin-colours-no-coin", "game_reward"] == 0).all()
    assert (made.loc["background-coin-colours", "game_reward"] == 10).all()
    assert (made.loc["many-coins", "game_reward"] == 10).all()
    with np.load(out / "edited_transitions.npz") as z, np.load(edits / "edited_transitions.npz") as original:
        obs, nxt = z["obs"], z["next_obs"]
        assert obs.shape == (len(ae.VARIANTS), 2, 64, 64, 3) and list(z["variants"]) == list(ae.VARIANTS)
        base = original["obs"][0]  # Table 5.2's original observations
    for v, variant in enumerate(ae.VARIANTS):
        assert not np.array_equal(obs[v], base), variant  # every edit changes the picture
    # removing the coin changes only the coin's pixels: few of them
    changed = (obs[ae.VARIANTS.index("coin-removed")] != base).any(axis=-1).mean()
    assert 0 < changed < 0.05


def test_predictions_table_and_figures(appendix, tmp_path, monkeypatch):
    import torch  # noqa: F401

    from report_fixtures import capture_figures

    from nnstructure.checkpoint import save_checkpoint
    from nnstructure.models import build_model, reward_net_spec

    _, _, out, counts = appendix
    spec = reward_net_spec([6, 64, 64], width_multiplier=1 / 32, init="glorot")
    save_checkpoint(tmp_path / "net.pt", build_model(spec, seed=1).eval(), {"spec": spec, "game": "coinrun"})
    predictions = ae.predict_appendix_edits(tmp_path / "net.pt", out, tmp_path / "p.parquet", label="net",
                                            transitions="coinrun", device="cpu")
    assert len(predictions) == 2 * len(ae.VARIANTS) and (predictions["transitions"] == "coinrun").all()
    assert pd.read_parquet(tmp_path / "p.parquet").equals(predictions)
    drawn = capture_figures(monkeypatch)
    written = ae.plot_appendix_edits(out, predictions, tmp_path / "figures")
    assert sorted(written) == sorted(f"fig_c_{n}" for n in range(14, 22))
    fig = drawn["fig_c_18"]
    images = [ax for ax in fig.axes if ax.get_images()]
    assert len(images) == counts["coin-removed"]
    expected = predictions[(predictions["edit"] == "coin-removed") & (predictions["example"] == 0)]["predicted_reward"]
    assert f"predicted {float(expected.iloc[0]):.3g}" in images[0].get_title()
    assert fig._suptitle.get_text().startswith("Figure C.18: observations with the coin removed.")
    table = ae.appendix_edits_table(predictions, ae.made_edits(out))
    assert list(table["figure"]) == [f for _, f, _ in ae.EDITS if counts[next(v for v, g, _ in ae.EDITS if g == f)]]
