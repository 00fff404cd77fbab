"""Rollout policies: CoinRun lookahead, Heist maze search, random actions."""

import numpy as np
import pytest

pytest.importorskip("procgen")

from nnstructure.reward import state as st  # noqa: E402
from nnstructure.reward.env import GameEnv  # noqa: E402
from nnstructure.reward.policies import (  # noqa: E402
    CoinRunLookahead, HeistMazeSolver, RandomPolicy, coinrun_plan_library, make_policy,
)


def _play(env, policy, limit=1000):
    policy.reset()
    for t in range(limit):
        action, _ = policy.act(env.state())
        step = env.step(action)
        if step.done:
            return step.reward, t + 1
    return 0.0, limit


@pytest.fixture(scope="module")
def lookahead():
    return CoinRunLookahead("hard", np.random.default_rng(0), random_rate=0.0)


def test_plan_library_shape_and_defaults():
    plans = coinrun_plan_library(24, 8)
    assert plans.shape == (12, 24)
    assert (plans[0, :8] == 7).all()  # row 0 runs right
    assert (plans[:, 8:] == 4).all()  # every manoeuvre ends standing still
    with pytest.raises(ValueError):
        coinrun_plan_library(6, 8)


def test_lookahead_scores_reaching_the_coin_and_dying(lookahead):
    env = GameEnv("coinrun", "hard", 40)
    s = env.state()
    ax, ay = int(s.agent["x"]), int(s.agent["y"])
    gx, gy = st.coin_cell(s)
    near_coin = st.parse_state(st.with_grid_cells(s, {(gx, gy): st.SPACE, (ax + 2, ay): st.COINRUN_GOAL}))
    scores = lookahead.plan_scores(near_coin)
    assert scores[0] >= 1e4 - 24  # running right reaches the coin within the horizon
    lava = st.parse_state(st.with_grid_cells(s, {(ax + 2, ay): st.COINRUN_LAVA_TOP, (ax + 3, ay): st.COINRUN_LAVA_TOP}))
    scores = lookahead.plan_scores(lava)
    assert scores[0] < -1e3  # running into lava dies ...
    best = int(np.argmax(scores))
    assert scores[best] > -1e3  # ... and some plan (a jump, waiting, backing up) survives
    env.set_state(lava.raw)
    lookahead.reset()
    for _ in range(12):
        action, was_random = lookahead.act(env.state())
        assert not was_random
        assert not env.step(action).done


def test_lookahead_reaches_the_coin_in_hard_levels(lookahead):
    env = GameEnv("coinrun", "hard", 100)
    results = []
    for level in (101, 102, 103):
        env.queue_level(level)
        results.append(_play(env, lookahead))
    assert [r for r, _ in results] == [10.0, 10.0, 10.0], results


@pytest.mark.parametrize("mode", ["easy", "hard"])
def test_maze_solver_collects_keys_and_reaches_the_gem(mode):
    solver = HeistMazeSolver(np.random.default_rng(0), random_rate=0.0)
    env = GameEnv("heist", mode, 200)
    keys_seen = 0
    for level in (201, 202, 203):
        env.queue_level(level)
        keys_seen += env.state().fields["num_keys"]
        reward, steps = _play(env, solver)
        assert reward == 10.0 and steps < 300
    assert keys_seen > 0  # some of these levels had locked doors


def test_random_action_rate_and_flags():
    rng = np.random.default_rng(0)
    env = GameEnv("heist", "easy", 5)
    policy = HeistMazeSolver(rng, random_rate=0.3)
    flags = [policy.act(env.state())[1] for _ in range(400)]
    assert abs(np.mean(flags) - 0.3) < 0.08
    random = RandomPolicy(np.random.default_rng(1))
    actions = [random.act(env.state()) for _ in range(300)]
    assert all(flag for _, flag in actions) and {a for a, _ in actions} == set(range(15))
    with pytest.raises(ValueError, match="for coinrun"):
        make_policy("lookahead", "heist", "hard", rng)
    with pytest.raises(ValueError, match="random_rate"):
        HeistMazeSolver(rng, random_rate=1.5)
