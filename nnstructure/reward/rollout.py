"""Seeded procgen rollouts written as transition-dataset shards (one job per shard).

Shard ``i`` of a dataset with ``episodes`` episodes per shard plays the levels
``level_start + i * episodes + j`` (j = 0..episodes-1; ``level_start``
defaults to ``seed * 1_000_000``), and its episodes have the global ids
``i * episodes + j``. Its random numbers (the policy's random actions, the Heist
discard filter) come from ``derive_seed(..., seed, i)``, so shards are
independent and can be generated in parallel, in any order, on any machine,
with identical results.

For every step the game state is read and parsed (positions of agent and goal);
on the terminal step the real last frame is rebuilt
(:func:`nnstructure.reward.terminal.replay_step_without_ending`) and the game's
own collision test is checked against the reward.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nnstructure.reward import state as st
from nnstructure.reward.env import GameEnv
from nnstructure.reward.policies import make_policy
from nnstructure.reward.shards import write_shard
from nnstructure.reward.terminal import replay_step_without_ending
from nnstructure.seeding import derive_seed

# Defaults chosen so the default datasets approach the thesis's statistics (section 5.3):
# CoinRun 93.6% of episodes rewarded; Heist 20.3% (which a uniformly random policy matches).
DEFAULT_POLICY = {"coinrun": "lookahead", "heist": "random"}
DEFAULT_RANDOM_RATE = {"lookahead": 0.15, "maze": 0.0, "random": 1.0}
DEFAULT_DISCARD = {"coinrun": 0.0, "heist": 0.95}
LEVELS_PER_SEED = 1_000_000


@dataclass(frozen=True)
class ShardSpec:
    """Everything that determines one shard's content."""

    game: str
    shard: int
    episodes: int
    seed: int = 0
    distribution_mode: str = "hard"
    policy: str | None = None
    random_rate: float | None = None
    zero_reward_discard: float | None = None
    level_start: int | None = None
    policy_options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.game not in st.GAMES:
            raise ValueError(f"game {self.game!r}: choose one of {', '.join(st.GAMES)}")
        if self.shard < 0 or self.episodes < 1:
            raise ValueError(f"shard ({self.shard}) must be >= 0 and episodes per shard ({self.episodes}) >= 1")
        if not 0.0 <= self.discard < 1.0:
            raise ValueError(f"zero_reward_discard {self.discard} must be in [0, 1)")
        top = int(self.level_seeds()[-1])
        if top >= 2**31 - 1:
            raise ValueError(f"level seeds reach {top}, beyond procgen's int32 range; lower level_start or the seed")

    @property
    def policy_name(self) -> str:
        return self.policy or DEFAULT_POLICY[self.game]

    @property
    def rate(self) -> float:
        return DEFAULT_RANDOM_RATE[self.policy_name] if self.random_rate is None else float(self.random_rate)

    @property
    def discard(self) -> float:
        return DEFAULT_DISCARD[self.game] if self.zero_reward_discard is None else float(self.zero_reward_discard)

    def level_seeds(self) -> np.ndarray:
        start = self.seed * LEVELS_PER_SEED if self.level_start is None else self.level_start
        return start + self.shard * self.episodes + np.arange(self.episodes, dtype=np.int64)

    def episode_ids(self) -> np.ndarray:
        return self.shard * self.episodes + np.arange(self.episodes, dtype=np.int64)

    @property
    def policy_label(self) -> str:
        """The ``policy`` column: name and random-action rate, e.g. ``lookahead(random=0.2)``."""
        return f"{self.policy_name}(random={self.rate:g})"


def generate_shard(spec: ShardSpec, out_dir: str | os.PathLike, progress: bool = True) -> dict:
    """Roll out ``spec``'s episodes and write ``shards/shard-NNNNN.{npz,parquet}`` under ``out_dir``.

    Returns timing and counts (transitions, steps per second, episodes rewarded).
    """
    from tqdm import tqdm

    game, levels, ids = spec.game, spec.level_seeds(), spec.episode_ids()
    env = GameEnv(game, spec.distribution_mode, int(levels[0]))
    aux = GameEnv(game, spec.distribution_mode, int(levels[0]))
    policy_rng = np.random.default_rng(derive_seed("transitions-policy", game, spec.policy_name, spec.seed, spec.shard))
    discard_rng = np.random.default_rng(derive_seed("transitions-discard", game, spec.seed, spec.shard))
    policy = make_policy(spec.policy_name, game, spec.distribution_mode, policy_rng, spec.rate, **spec.policy_options)

    frames: list[np.ndarray] = []
    columns: dict[str, list] = {k: [] for k in (
        "episode", "step", "obs_frame", "next_obs_frame", "action", "reward", "done", "agent_x", "agent_y",
        "goal_x", "goal_y", "obs_agent_x", "obs_agent_y", "random_action", "kept", "level_seed")}
    start = time.perf_counter()
    n_rewarded = 0
    bar = tqdm(total=spec.episodes, unit="episode", desc=f"{game} shard {spec.shard}", disable=not progress,
               mininterval=2.0)
    for j, (level, episode) in enumerate(zip(levels, ids)):
        state = env.state()
        if state.fields["current_level_seed"] != level:
            raise RuntimeError(f"{game}: episode {episode} should play level {level} but the game is on "
                               f"level {state.fields['current_level_seed']}")
        if j + 1 < len(levels):
            env.queue_level(int(levels[j + 1]), state)
        policy.reset()
        ep_frames = [env.obs]
        ep: dict[str, list] = {k: [] for k in ("action", "reward", "done", "pos", "obs_agent", "random")}
        while True:
            action, was_random = policy.act(state)
            step = env.step(action)
            if step.done:
                frame, post_raw = replay_step_without_ending(aux, state.raw, action)
                post = st.parse_state(post_raw, game)
                if st.agent_touches_goal(post) != (step.reward > 0):
                    raise RuntimeError(
                        f"{game} level {level}: the episode ended with reward {step.reward} but the game's collision "
                        "test on the rebuilt last state disagrees; the state parser or the rebuild is wrong"
                    )
            else:
                frame, post = step.obs, env.state()
            ep_frames.append(frame)
            agent = state.agent
            ep["obs_agent"].append((float(agent["x"]), float(agent["y"])))
            ep["action"].append(action)
            ep["reward"].append(step.reward)
            ep["done"].append(step.done)
            ep["pos"].append(st.positions(post))
            ep["random"].append(was_random)
            state = post
            if step.done:
                break
        n_rewarded += step.reward > 0
        _append_episode(columns, frames, ep, ep_frames, episode, level, spec.discard, discard_rng)
        bar.update(1)
        bar.set_postfix(transitions=len(columns["step"]), rewarded=f"{n_rewarded}/{j + 1}", refresh=False)
    bar.close()
    seconds = time.perf_counter() - start
    table = _finish_table(columns, spec)
    stacked = np.stack(frames) if frames else np.zeros((0, 64, 64, 3), np.uint8)
    write_shard(out_dir, spec.shard, stacked, table)
    return {
        "shard": spec.shard, "episodes": spec.episodes, "transitions": len(table), "frames": len(stacked),
        "episodes_rewarded": int(n_rewarded), "seconds": seconds, "transitions_per_second": len(table) / seconds,
        "lookahead_searches": getattr(policy, "searches", None),
    }


def _append_episode(columns, frames, ep, ep_frames, episode, level, discard, rng) -> None:
    """Add one episode's rows; store only the frames its kept transitions use, each once."""
    n = len(ep["action"])
    reward = np.asarray(ep["reward"], dtype=np.float32)
    kept = np.ones(n, dtype=bool)
    if discard > 0:
        kept = (reward != 0) | (rng.random(n) >= discard)
    needed = np.zeros(n + 1, dtype=bool)
    needed[:-1] |= kept
    needed[1:] |= kept
    local = np.full(n + 1, -1, dtype=np.int64)
    local[needed] = len(frames) + np.arange(int(needed.sum()))
    frames.extend(ep_frames[i] for i in np.flatnonzero(needed))
    columns["episode"].extend([episode] * n)
    columns["step"].extend(range(n))
    columns["obs_frame"].extend(np.where(kept, local[:-1], -1).tolist())
    columns["next_obs_frame"].extend(np.where(kept, local[1:], -1).tolist())
    columns["action"].extend(ep["action"])
    columns["reward"].extend(reward.tolist())
    columns["done"].extend(ep["done"])
    for p, (ox, oy) in zip(ep["pos"], ep["obs_agent"]):
        columns["agent_x"].append(p.agent_x)
        columns["agent_y"].append(p.agent_y)
        columns["goal_x"].append(p.goal_x)
        columns["goal_y"].append(p.goal_y)
        columns["obs_agent_x"].append(ox)
        columns["obs_agent_y"].append(oy)
    columns["random_action"].extend(ep["random"])
    columns["kept"].extend(kept.tolist())
    columns["level_seed"].extend([level] * n)


def _finish_table(columns: dict, spec: ShardSpec) -> pd.DataFrame:
    table = pd.DataFrame(columns)
    feats = st.distance_features(table["agent_x"], table["agent_y"], table["goal_x"], table["goal_y"])
    for name, values in feats.items():
        table[name] = values
    table["shard"] = spec.shard
    table["game"] = spec.game
    table["distribution_mode"] = spec.distribution_mode
    table["policy"] = spec.policy_label
    return table
