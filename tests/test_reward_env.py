"""procgen environments: actions, levels, the rebuilt last frame, fixed-camera rendering."""

import numpy as np
import pytest

pytest.importorskip("procgen")

from nnstructure.reward import env as renv  # noqa: E402
from nnstructure.reward import state as st  # noqa: E402
from nnstructure.reward.env import GameEnv  # noqa: E402
from nnstructure.reward.terminal import render_with_camera, replay_step_without_ending  # noqa: E402


def test_action_table():
    assert [renv.action_delta(a) for a in range(9)] == [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert all(renv.action_delta(a) == (0, 0) for a in range(9, 15))
    assert renv.action_delta(7) == (1, 0) and renv.action_delta(5) == (0, 1)
    assert all(renv.action_for_delta(*renv.action_delta(a)) == a for a in range(9))
    with pytest.raises(ValueError, match="outside 0..14"):
        renv.action_delta(15)


@pytest.mark.parametrize("game", ["coinrun", "heist"])
def test_observations_and_action_space(game):
    env = GameEnv(game, "easy", 3)
    assert env.obs.shape == (64, 64, 3) and env.obs.dtype == np.uint8
    assert env.env.ac_space.eltype.n == renv.N_ACTIONS == 15
    step = env.step(4)
    assert step.obs.shape == (64, 64, 3) and step.level_seed == 3


def test_queued_level_starts_next_and_replays_identically():
    env = GameEnv("coinrun", "hard", 7)
    env.queue_level(123)
    while not (step := env.step(renv.NOOP)).done:  # standing still ends at the 1000-step limit
        pass
    assert step.level_seed == 123 and env.state().fields["current_level_seed"] == 123
    fresh = GameEnv("coinrun", "hard", 123)
    assert np.array_equal(fresh.obs, step.obs)
    rng = np.random.default_rng(0)
    for a in rng.integers(0, 15, 40):
        assert np.array_equal(env.step(int(a)).obs, fresh.step(int(a)).obs)


def test_missing_system_library_names_the_debian_packages(monkeypatch):
    procgen = renv.load_procgen()

    def broken(*args, **kwargs):
        raise OSError("cannot load library 'libenv.so': libGL.so.1: cannot open shared object file")

    monkeypatch.setattr(procgen, "ProcgenGym3Env", broken)
    with pytest.raises(RuntimeError, match=r"apt-get install libgl1 .*libglib2\.0-0"):
        renv.make_procgen_env("coinrun")
    with pytest.raises(ValueError, match="choose one of"):
        renv.make_procgen_env("maze")


@pytest.mark.parametrize("game", ["coinrun", "heist"])
def test_rebuilt_frame_is_procgens_frame_on_ordinary_steps(game):
    env, aux = GameEnv(game, "hard", 21), GameEnv(game, "hard", 21)
    rng = np.random.default_rng(1)
    for a in rng.integers(0, 9, 40):
        pre = env.get_state()
        step = env.step(int(a))
        assert not step.done
        frame, post = replay_step_without_ending(aux, pre, int(a))
        assert np.array_equal(frame, step.obs)
        assert post == env.get_state()  # the whole state, byte for byte


def _run_to_end(env, actions):
    for a in actions:
        pre = env.get_state()
        step = env.step(a)
        if step.done:
            return pre, a, step
    raise AssertionError("the episode did not end")


@pytest.mark.parametrize("ending", ["coin", "death", "timeout"])
def test_terminal_next_observation_is_the_real_last_frame(ending):
    env, aux = GameEnv("coinrun", "hard", 31), GameEnv("coinrun", "hard", 31)
    s = env.state()
    a = s.agent
    ax, ay = int(a["x"]), int(a["y"])
    if ending == "coin":  # the coin two cells ahead
        gx, gy = st.coin_cell(s)
        env.set_state(st.with_grid_cells(s, {(gx, gy): st.SPACE, (ax + 2, ay): st.COINRUN_GOAL}))
        actions = [7] * 20
    elif ending == "death":  # lava two cells ahead on the agent's row
        env.set_state(st.with_grid_cells(s, {(ax + 2, ay): st.COINRUN_LAVA_TOP}))
        actions = [7] * 20
    else:
        env.set_state(st.with_fields(s, timeout=5))
        actions = [4] * 10
    pre, action, step = _run_to_end(env, actions)
    frame, post = replay_step_without_ending(aux, pre, action)
    post_state = st.parse_state(post, "coinrun")
    assert not np.array_equal(frame, step.obs)  # procgen's own frame shows the next level
    assert np.array_equal(frame, render_with_camera(aux, post, float(post_state.agent["x"]), float(post_state.agent["y"])))
    assert st.agent_touches_goal(post_state) == (ending == "coin") == (step.reward == 10)
    assert post_state.fields["timeout"] == st.parse_state(pre).fields["timeout"]  # restored
    if ending == "death":
        xs, ys = [int(post_state.agent["x"] + d) for d in (-0.499, 0.499)], int(post_state.agent["y"])
        assert st.COINRUN_LAVA_TOP in [post_state.grid[ys, x] for x in xs]
    if ending == "timeout":  # the step limit was lifted for the replay only
        assert step.reward == 0 and post_state.fields["cur_time"] == 5


def test_camera_rendering_moves_only_the_viewpoint():
    env, aux = GameEnv("coinrun", "hard", 8), GameEnv("coinrun", "hard", 8)
    for _ in range(5):
        env.step(7)
    s = env.state()
    x, y = float(s.agent["x"]), float(s.agent["y"])
    assert np.array_equal(render_with_camera(aux, s.raw, x, y), env.obs)
    # a camera 5 pixels (5 * 13/64 cells) to the right shows the same scene 5 pixels to the left ...
    shifted = render_with_camera(aux, s.raw, x + 5 * 13 / 64, y)
    away = np.r_[0:18, 46:64]  # rows away from the agent's sprite
    np.testing.assert_array_equal(shifted[away, :-5], env.obs[away, 5:])
    # ... with the agent's sprite drawn where the agent is, 5 pixels left of the centre
    sprite = np.abs(env.obs[18:46, 27:38].astype(int) - env.obs[18:46, 27:38].mean(axis=(0, 1))).sum()
    assert np.array_equal(shifted[18:46, 22:33], env.obs[18:46, 27:38]) or sprite > 0
    assert not np.array_equal(shifted[18:46, 27:38], env.obs[18:46, 27:38])
