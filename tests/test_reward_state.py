"""procgen state parser on real CoinRun and Heist states (easy and hard)."""

import numpy as np
import pytest

pytest.importorskip("procgen")

from nnstructure.reward import state as st  # noqa: E402
from nnstructure.reward.env import GameEnv, action_for_delta  # noqa: E402
from nnstructure.reward.terminal import replay_step_without_ending  # noqa: E402

SETTINGS = [("coinrun", "easy"), ("coinrun", "hard"), ("heist", "easy"), ("heist", "hard")]


def _trajectory(game, mode, level, steps, seed):
    """(state before, action, reward, done, state after) for random steps; terminal 'after' states rebuilt."""
    env, aux = GameEnv(game, mode, level), GameEnv(game, mode, level)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        pre = env.get_state()
        action = int(rng.integers(15)) if rng.random() < 0.5 else (7 if game == "coinrun" else int(rng.integers(9)))
        step = env.step(action)
        post = replay_step_without_ending(aux, pre, action)[1] if step.done else env.get_state()
        out.append((pre, action, step.reward, step.done, post))
    return out


@pytest.fixture(scope="module")
def trajectories():
    return {(g, m): _trajectory(g, m, 11, 100, seed=3) for g, m in SETTINGS}


@pytest.mark.parametrize("game,mode", SETTINGS)
def test_parser_consumes_exactly_the_whole_buffer(trajectories, game, mode):
    for pre, *_ in trajectories[(game, mode)][:20]:
        s = st.parse_state(pre, game)
        assert s.game == game and s.distribution_mode == mode
        assert s.raw == pre
        # the trailer is the last 4 bytes and the grid ends right before the game's tail
        assert int.from_bytes(pre[-4:], "little") == st.END_OF_BUFFER
        h, w = s.grid.shape
        assert (h, w) == ((64, 64) if game == "coinrun" else ((9, 9) if mode == "easy" else (13, 13)))
        tail = 7 * 4 if game == "coinrun" else (3 + len(s.has_keys)) * 4
        assert s.grid_offset + 4 * h * w + tail + 4 == len(pre)
        assert s.entities_offset + 124 * len(s.entities) < s.grid_offset
        assert s.fields["timeout"] == 1000 and s.fields["main_width"] == w


@pytest.mark.parametrize("game", ["coinrun", "heist"])
def test_malformed_buffers_raise_naming_game_and_offset(trajectories, game):
    raw = trajectories[(game, "hard")][0][0]
    with pytest.raises(st.StateParseError, match=rf"{game} state .* byte offset {len(raw) - 4}: the END_OF_BUFFER"):
        st.parse_state(raw[:-1], game)
    with pytest.raises(st.StateParseError, match=r"1 bytes are left after the trailer"):
        st.parse_state(raw + b"\x00", game)
    broken = raw[:-4] + (0x12345678).to_bytes(4, "little")
    with pytest.raises(st.StateParseError, match=r"trailer is 0x12345678"):
        st.parse_state(broken, game)
    other = "heist" if game == "coinrun" else "coinrun"
    with pytest.raises(st.StateParseError, match=rf"not '{other}'"):
        st.parse_state(raw, other)
    with pytest.raises(st.StateParseError, match=r"byte offset 0"):
        st.parse_state(b"\x01\x00\x00\x00" + raw[4:], game)


def test_goal_and_agent_are_where_the_games_put_them(trajectories):
    s = st.parse_state(trajectories[("coinrun", "hard")][0][0])
    assert st.positions(s).agent_x == pytest.approx(1.5)  # CoinRun starts at x = 1 + rx
    assert (s.grid == st.COINRUN_GOAL).sum() == 1
    gx, gy = st.coin_cell(s)
    assert s.grid[gy, gx + 1] == st.COINRUN_WALL_MID  # the level is walled off right of the coin
    h = st.parse_state(trajectories[("heist", "hard")][0][0])
    gem = h.entities[st.gem_index(h)]
    assert h.grid[int(gem["y"]), int(gem["x"])] == st.SPACE  # the gem lies in the maze
    assert len(h.has_keys) == h.fields["num_keys"] and not any(h.has_keys)
    assert {c for c, *_ in st.heist_doors(h)} <= set(range(h.fields["num_keys"]))


def _free_direction(s):
    """A direction (dx, dy) whose neighbouring cell of the agent is open (Heist maze)."""
    a = s.agent
    x, y = int(a["x"]), int(a["y"])
    h, w = s.grid.shape
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        if 0 <= x + dx < w and 0 <= y + dy < h and s.grid[y + dy, x + dx] == st.SPACE and not any(int(dx_) == x + dx and int(dy_) == y + dy
                                                           for _, dx_, dy_ in st.heist_doors(s)):
            return dx, dy
    raise AssertionError("the agent is walled in")


def test_positions_follow_actions():
    env = GameEnv("coinrun", "easy", 4)
    xs = [st.positions(env.state()).agent_x]
    for _ in range(6):
        env.step(action_for_delta(1, 0))  # right
        xs.append(st.positions(env.state()).agent_x)
    assert (np.diff(xs) > 0).all(), xs
    y0 = st.positions(env.state()).agent_y
    env.step(action_for_delta(0, 1))  # jump
    assert st.positions(env.state()).agent_y > y0 + 1.0
    for mode in ("easy", "hard"):
        env = GameEnv("heist", mode, 4)
        dx, dy = _free_direction(env.state())
        p0 = st.positions(env.state())
        path = []
        for _ in range(3):
            env.step(action_for_delta(dx, dy))
            p = st.positions(env.state())
            path.append((p.agent_x - p0.agent_x, p.agent_y - p0.agent_y))
        along = [px * dx + py * dy for px, py in path]
        across = [abs(px * dy) + abs(py * dx) for px, py in path]
        assert np.all(np.diff([0.0] + along) > 0) and max(across) < 1e-6, path


@pytest.mark.parametrize("game,mode", SETTINGS)
def test_reward_10_exactly_when_the_agent_touches_the_goal(trajectories, game, mode):
    rows = trajectories[(game, mode)]
    for pre, action, reward, done, post in rows:
        assert st.agent_touches_goal(st.parse_state(post, game)) == (reward == 10)
        assert reward in (0.0, 10.0)
    # solved episodes give positive cases too: a policy that walks into the goal
    env, aux = GameEnv(game, mode, 11), GameEnv(game, mode, 11)
    s = env.state()
    goal = st.positions(s)
    if game == "coinrun":  # put the coin right in front of the agent and run into it
        gx, gy = st.coin_cell(s)
        ax, ay = int(goal.agent_x), int(goal.agent_y)
        env.set_state(st.with_grid_cells(s, {(gx, gy): st.SPACE, (ax + 1, ay): st.COINRUN_GOAL}))
        action = action_for_delta(1, 0)
    else:  # put the gem one cell away in an open direction and walk into it
        dx, dy = _free_direction(s)
        env.set_state(st.with_entity_fields(s, st.gem_index(s), x=goal.agent_x + dx, y=goal.agent_y + dy))
        action = action_for_delta(dx, dy)
    for _ in range(4):  # walk into the goal
        pre = env.get_state()
        step = env.step(action)
        if step.done:
            break
    assert step.reward == 10 and step.done
    post = replay_step_without_ending(aux, pre, action)[1]
    assert st.agent_touches_goal(st.parse_state(post, game))
    assert not st.agent_touches_goal(st.parse_state(pre, game))


def test_distance_features_hand_computed():
    f = st.distance_features([0.0, 0.0, 1.0, 2.0, np.nan], [0.0, 0.0, 1.0, 2.0, 0.0],
                             [3.0, 30.0, 1.0, 2.1, 1.0], [4.0, 40.0, 1.0, 2.0, 1.0])
    np.testing.assert_allclose(f["distance_raw"][:4], [5.0, 50.0, 0.0, 0.1], rtol=1e-6)
    np.testing.assert_allclose(f["distance"][:4], [5.0, 18.4, 0.0, 0.1], rtol=1e-6)
    np.testing.assert_allclose(f["distance_sq"][:4], [25.0, 338.0, 0.0, 0.01], rtol=1e-5)
    np.testing.assert_allclose(f["inv_distance"][:4], [0.2, 0.02, 5.0, 5.0], rtol=1e-5)
    np.testing.assert_allclose(f["inv_distance_sq"][:4], [0.04, 0.0004, 5.0, 5.0], rtol=1e-5)
    np.testing.assert_allclose(f["dx"][:2], [3.0, 30.0])
    assert f["coin_visible"].tolist() == [True, False, True, True, False]
    assert np.isnan(f["distance"][4]) and np.isnan(f["inv_distance"][4])


def test_byte_edits_are_read_back_and_accepted_by_the_game(trajectories):
    raw = trajectories[("coinrun", "hard")][5][0]
    s = st.parse_state(raw)
    s2 = st.parse_state(st.with_fields(s, timeout=1234, level_seed_high=99))
    assert s2.fields["timeout"] == 1234 and s2.fields["level_seed_high"] == 99
    assert s2.fields["cur_time"] == s.fields["cur_time"]
    s3 = st.parse_state(st.with_entity_fields(s, s.agent_index, x=7.25))
    assert s3.agent["x"] == np.float32(7.25) and s3.agent["y"] == s.agent["y"]
    s4 = st.parse_state(st.with_inserted_entity(s, 0, s.agent.copy()))
    assert len(s4.entities) == len(s.entities) + 1 and s4.agent_index == s.agent_index + 1
    env = GameEnv("coinrun", "hard", 11)
    env.set_state(s3.raw)
    assert st.parse_state(env.get_state()).agent["x"] == np.float32(7.25)
    with pytest.raises(KeyError, match="no scalar field"):
        st.with_fields(s, not_a_field=1)
    with pytest.raises(IndexError):
        st.with_grid_cells(s, {(64, 0): 1})
