"""Policies that generate procgen transitions (the thesis rolled out PPO experts, which
cannot be trained here).

- :class:`CoinRunLookahead`: at a decision point, copies the game state into a
  vectorised planning environment (``set_state``), plays a fixed library of short
  action plans (run, jump now/later, wait, back up, ...) in parallel and keeps the
  best one (coin reached soonest; otherwise the furthest progress without dying;
  otherwise the latest death); it executes the first ``replan_every`` actions of
  that plan and plans again.
- :class:`HeistMazeSolver`: breadth-first search over the parsed maze (walls, locked
  doors whose key is not held) to the gem if reachable, otherwise to the nearest
  reachable key, steering toward the centre of the next cell on the path.
- :class:`RandomPolicy`: uniform over the 15 actions.

Every policy mixes in uniformly random actions at ``random_rate`` (a seeded
``numpy.random.Generator``), and reports whether each action was random.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np

from nnstructure.reward import state as st
from nnstructure.reward.env import N_ACTIONS, NOOP, action_for_delta, make_procgen_env

POLICIES = ("lookahead", "maze", "random")

# CoinRun actions used by the plans.
_R, _RJ, _J, _N, _L, _LJ = 7, 8, 5, NOOP, 1, 2


def coinrun_plan_library(horizon: int = 24, prefix: int = 8) -> np.ndarray:
    """The candidate plans (rows of ``horizon`` actions) the CoinRun lookahead compares.

    Each plan is a ``prefix``-step manoeuvre (run, jump now or a few steps later,
    wait, hop, back up) followed by standing still, so a death late in the
    horizon comes from the manoeuvre itself (e.g. a jump that lands in a pit)
    rather than from running blindly into the next obstacle. Row 0 (run right)
    wins ties, so the agent keeps running when nothing is better.
    """
    if not 4 <= prefix <= horizon:
        raise ValueError(f"lookahead prefix {prefix} must be between 4 and the horizon {horizon}")

    def plan(*parts):
        seq = [a for n, a in parts for _ in range(n)]
        return (seq + [_R] * prefix)[:prefix] + [_N] * (horizon - prefix)

    plans = [
        plan((prefix, _R)),
        plan((1, _RJ)),
        plan((2, _R), (1, _RJ)),
        plan((4, _R), (1, _RJ)),
        plan((prefix - 2, _R), (1, _RJ)),
        plan((3, _N), (1, _RJ)),
        plan((prefix, _N)),
        plan((1, _RJ), (prefix, _N)),
        plan((1, _J), (prefix, _N)),
        plan((3, _L), (1, _RJ)),
        plan((prefix, _L)),
        plan((1, _LJ), (prefix, _L)),
    ]
    return np.asarray(plans, dtype=np.int32)


class Policy(Protocol):
    name: str

    def reset(self) -> None:
        """Start of a new episode."""

    def act(self, state: st.ProcgenState) -> tuple[int, bool]:
        """The action to take in ``state`` and whether it was a random one."""


class RandomPolicy:
    """Uniformly random actions over all 15."""

    name = "random"

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def reset(self) -> None:
        pass

    def act(self, state: st.ProcgenState) -> tuple[int, bool]:
        return int(self.rng.integers(N_ACTIONS)), True


def _check_rate(random_rate: float) -> float:
    if not 0.0 <= random_rate <= 1.0:
        raise ValueError(f"random_rate {random_rate} must be in [0, 1]")
    return float(random_rate)


class CoinRunLookahead:
    """Plan on copies of the game state and keep the best short action plan.

    At a decision point the plain run-right plan is tried first on a single
    planning environment; when it reaches the coin, or survives the horizon and
    advances at least ``min_progress`` cells, it is kept without a full search
    (most of a level is open ground). Otherwise the whole plan library is played
    on a vectorised planning environment and the best plan is kept.
    """

    name = "lookahead"

    def __init__(self, distribution_mode: str, rng: np.random.Generator, random_rate: float = 0.0,
                 horizon: int = 24, prefix: int = 8, replan_every: int = 6, min_progress: float = 2.0):
        if replan_every < 1:
            raise ValueError(f"replan_every {replan_every} must be >= 1")
        self.rng = rng
        self.random_rate = _check_rate(random_rate)
        self.plans = coinrun_plan_library(horizon, prefix)
        self.replan_every = min(replan_every, prefix)
        self.min_progress = float(min_progress)
        self.search_env = make_procgen_env("coinrun", distribution_mode, num=len(self.plans))
        self.check_env = make_procgen_env("coinrun", distribution_mode, num=1)
        self._queue: list[int] = []
        self.decisions = 0
        self.searches = 0

    def reset(self) -> None:
        self._queue = []

    def act(self, state: st.ProcgenState) -> tuple[int, bool]:
        if self.random_rate and self.rng.random() < self.random_rate:
            self._queue = []  # the plan no longer starts from where the agent will be
            return int(self.rng.integers(N_ACTIONS)), True
        if not self._queue:
            best = self.best_plan(state)
            self._queue = [int(a) for a in best[: self.replan_every]]
        return self._queue.pop(0), False

    def best_plan(self, state: st.ProcgenState) -> np.ndarray:
        self.decisions += 1
        start_x = float(state.agent["x"])
        run = self._play(self.check_env, state.raw, self.plans[:1])[0]
        if run >= 1e3 or (-1e3 < run and run - start_x >= self.min_progress):
            return self.plans[0]
        self.searches += 1
        return self.plans[int(np.argmax(self._play(self.search_env, state.raw, self.plans)))]

    def plan_scores(self, state: st.ProcgenState) -> np.ndarray:
        """Score of every plan in the library from ``state`` (see :meth:`_play`)."""
        return self._play(self.search_env, state.raw, self.plans)

    @staticmethod
    def _play(env, raw: bytes, plans: np.ndarray) -> np.ndarray:
        """Play each plan (one per environment of ``env``) from the state ``raw``.

        Score: 1e4 - steps when the plan reaches the coin; -1e4 + steps when the
        agent dies (or the episode otherwise ends without reward); otherwise the
        agent's final x (progress to the right, where the coin always is).
        """
        k, horizon = plans.shape
        env.callmethod("set_state", [raw] * k)
        outcome = np.zeros(k)
        open_ = np.ones(k, dtype=bool)
        for t in range(horizon):
            env.act(plans[:, t])
            rew, _, first = env.observe()
            ended = open_ & first.astype(bool)
            if ended.any():
                outcome[ended] = np.where(rew[ended] > 0, 1e4 - t, -1e4 + t)
                open_ &= ~ended
                if not open_.any():
                    break
        if open_.any():
            raws = env.callmethod("get_state")
            for i in np.flatnonzero(open_):
                outcome[i] = float(st.parse_state(raws[i], "coinrun").agent["x"])
        return outcome


class HeistMazeSolver:
    """Breadth-first search to the gem, else to the nearest reachable key."""

    name = "maze"

    def __init__(self, rng: np.random.Generator, random_rate: float = 0.0, tolerance: float = 0.1):
        self.rng = rng
        self.random_rate = _check_rate(random_rate)
        self.tolerance = tolerance

    def reset(self) -> None:
        pass

    def act(self, state: st.ProcgenState) -> tuple[int, bool]:
        if self.random_rate and self.rng.random() < self.random_rate:
            return int(self.rng.integers(N_ACTIONS)), True
        path = self.path(state)
        if len(path) < 2:
            target = self._goal_point(state, path[-1] if path else None)
        else:
            target = path[1][0] + 0.5, path[1][1] + 0.5
            if len(path) == 2:
                target = self._goal_point(state, path[1])
        a = state.agent
        dx = target[0] - float(a["x"])
        dy = target[1] - float(a["y"])
        tol = self.tolerance
        return action_for_delta(int(dx > tol) - int(dx < -tol), int(dy > tol) - int(dy < -tol)), False

    def _goal_point(self, state, cell):
        """Inside the final cell, head for the object itself (keys and gems are not centred)."""
        if cell is None:
            a = state.agent
            return float(a["x"]), float(a["y"])
        g = state.entities[st.gem_index(state)]
        if (int(g["x"]), int(g["y"])) == tuple(cell):
            return float(g["x"]), float(g["y"])
        for _, kx, ky in st.heist_keys(state):
            if (int(kx), int(ky)) == tuple(cell):
                return kx, ky
        return cell[0] + 0.5, cell[1] + 0.5

    def path(self, state: st.ProcgenState) -> list[tuple[int, int]]:
        """Cells from the agent's cell to the gem (if reachable) or the nearest reachable key."""
        grid = state.grid
        h, w = grid.shape
        blocked = grid == st.WALL_OBJ
        blocked = blocked.copy()
        for colour, x, y in st.heist_doors(state):
            if not (colour < len(state.has_keys) and state.has_keys[colour]):
                blocked[int(y), int(x)] = True
        a = state.agent
        start = (int(a["x"]), int(a["y"]))
        g = state.entities[st.gem_index(state)]
        gem = (int(g["x"]), int(g["y"]))
        keys = {(int(x), int(y)) for _, x, y in st.heist_keys(state)}
        parent = {start: None}
        queue = deque([start])
        first_key = None
        while queue:
            cell = queue.popleft()
            if cell == gem:
                return _unwind(parent, cell)
            if first_key is None and cell in keys:
                first_key = cell
            x, y = cell
            for nxt in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                nx, ny = nxt
                if 0 <= nx < w and 0 <= ny < h and not blocked[ny, nx] and nxt not in parent:
                    parent[nxt] = cell
                    queue.append(nxt)
        if first_key is not None:
            return _unwind(parent, first_key)
        return [start]


def _unwind(parent: dict, cell) -> list:
    out = []
    while cell is not None:
        out.append(cell)
        cell = parent[cell]
    return out[::-1]


def make_policy(name: str, game: str, distribution_mode: str, rng: np.random.Generator,
                random_rate: float = 0.0, **options) -> Policy:
    """Build a policy by name: ``lookahead`` (CoinRun), ``maze`` (Heist) or ``random`` (both)."""
    if name == "random":
        return RandomPolicy(rng)
    if name == "lookahead":
        if game != "coinrun":
            raise ValueError("the lookahead policy is for coinrun; use --policy maze for heist")
        return CoinRunLookahead(distribution_mode, rng, random_rate, **options)
    if name == "maze":
        if game != "heist":
            raise ValueError("the maze policy is for heist; use --policy lookahead for coinrun")
        return HeistMazeSolver(rng, random_rate, **options)
    raise ValueError(f"unknown policy {name!r}; choose one of: {', '.join(POLICIES)}")
