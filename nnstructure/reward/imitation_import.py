"""Import rollouts saved in the imitation library's npz layout as a transition dataset.

The layout (``imitation.data.types.save`` before imitation 1.0; what the thesis's
code, ``reward-function-interpretability``, wrote for its expert rollouts):

- ``obs``: every trajectory's observations concatenated, each trajectory
  contributing its T transitions + 1 observations (uint8 [sum(T+1), 64, 64, 3];
  channels-first [.., 3, 64, 64] is accepted too);
- ``acts`` [sum T], ``rews`` [sum T], ``terminal`` [n_trajectories] (bool: the
  trajectory ended in a terminal state), ``indices`` = ``cumsum(T)[:-1]``;
- ``infos`` [sum T]: a pickled object array of per-step info dicts (optional).

Positions come from the infos when they carry them: ``agent_pos`` or
``agent_x``/``agent_y`` for the agent, and ``goal_pos``/``coin_pos``/``gem_pos``
or ``goal_x``/``goal_y`` for the goal (grid units, the state after the step, as
:mod:`nnstructure.reward.shards` documents). Without them the position and
distance columns are NaN and ``coin_visible`` is False (the table says so; the
reward net does not need them, the probes do). The level seed comes from the
first info's ``level_seed`` (procgen puts it there), else -1; ``obs_agent_*`` is
the previous step's agent position (NaN on the first step). When the last info
of a trajectory has ``final_obs`` (the procgenAISC fork's true last frame), it
replaces the last observation, which stock procgen takes from the next level.

Reading ``infos`` unpickles Python objects, which can run code: it happens only
with ``trust_pickle=True`` (use it for files you trust); ``ignore_infos=True``
imports without positions instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.reward import state as st
from nnstructure.reward.env import N_ACTIONS
from nnstructure.reward.shards import write_shard
from nnstructure.seeding import derive_seed

_AGENT_KEYS = (("agent_pos",), ("agent_x", "agent_y"))
_GOAL_KEYS = (("goal_pos",), ("coin_pos",), ("gem_pos",), ("goal_x", "goal_y"))
REQUIRED_KEYS = ("obs", "acts", "terminal", "rews", "indices")


def _xy(info: dict, options) -> tuple[float, float]:
    for keys in options:
        if all(k in info for k in keys):
            if len(keys) == 1:
                x, y = info[keys[0]]
            else:
                x, y = info[keys[0]], info[keys[1]]
            return float(x), float(y)
    return np.nan, np.nan


def read_imitation_npz(path: str | os.PathLike, trust_pickle: bool = False, ignore_infos: bool = False) -> list[dict]:
    """The trajectories of an imitation-layout npz as dicts ``obs`` [T+1, 64, 64, 3], ``acts``, ``rews``, ``terminal``, ``infos``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        data = np.load(path, allow_pickle=trust_pickle and not ignore_infos)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable npz file ({exc})") from exc
    with data:
        missing = [k for k in REQUIRED_KEYS if k not in data.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: not the imitation npz layout (keys {', '.join(REQUIRED_KEYS)}, infos)")
        obs, acts, rews = data["obs"], data["acts"], data["rews"]
        terminal, indices = data["terminal"], np.asarray(data["indices"], dtype=np.int64)
        infos = None
        if "infos" in data.files and not ignore_infos:
            try:
                infos = data["infos"]
            except ValueError as exc:
                raise ValueError(
                    f"{path}: 'infos' is a pickled object array; reading it can run code stored in the file. "
                    "Pass --trust-pickle (trust_pickle=True) for a file you trust, or --ignore-infos to import "
                    "without positions"
                ) from exc
    if obs.ndim == 4 and obs.shape[1] == 3 and obs.shape[-1] != 3:
        obs = obs.transpose(0, 2, 3, 1)
    if obs.dtype != np.uint8 or obs.ndim != 4 or obs.shape[1:] != (64, 64, 3):
        raise ValueError(f"{path}: obs is {obs.dtype} {obs.shape}; procgen frames are uint8 [N, 64, 64, 3]")
    n_traj = len(indices) + 1
    if len(terminal) != n_traj:
        raise ValueError(f"{path}: {len(terminal)} terminal flags for {n_traj} trajectories (len(indices) + 1)")
    if len(obs) != len(acts) + n_traj or len(rews) != len(acts):
        raise ValueError(
            f"{path}: {len(obs)} observations, {len(acts)} actions and {len(rews)} rewards do not make {n_traj} "
            "trajectories of T actions and T + 1 observations each"
        )
    acts = np.asarray(acts).reshape(len(acts))
    if len(acts) and (acts.min() < 0 or acts.max() >= N_ACTIONS):
        raise ValueError(f"{path}: actions range over {acts.min()}..{acts.max()}, procgen has 0..{N_ACTIONS - 1}")
    obs_parts = np.split(obs, indices + np.arange(1, n_traj))
    info_parts = np.split(infos, indices) if infos is not None else None
    out = []
    for i, (o, a, r) in enumerate(zip(obs_parts, np.split(acts, indices), np.split(rews, indices))):
        info = list(info_parts[i]) if info_parts is not None else [{}] * len(a)
        out.append({"obs": o, "acts": a, "rews": np.asarray(r, dtype=np.float32), "terminal": bool(terminal[i]),
                    "infos": info})
    return out


def import_imitation_npz(path: str | os.PathLike, out_dir: str | os.PathLike, game: str, *,
                         distribution_mode: str = "unknown", episodes_per_shard: int = 100,
                         zero_reward_discard: float = 0.0, seed: int = 0, trust_pickle: bool = False,
                         ignore_infos: bool = False) -> int:
    """Write the trajectories of ``path`` as shards of ``out_dir``; returns the number of shards.

    Run :func:`nnstructure.reward.shards.merge_dataset` on ``out_dir`` afterwards
    (the ``transitions-import`` command does both).
    """
    if game not in st.GAMES:
        raise ValueError(f"game {game!r}: choose one of {', '.join(st.GAMES)}")
    if episodes_per_shard < 1:
        raise ValueError("episodes_per_shard must be >= 1")
    trajectories = read_imitation_npz(path, trust_pickle=trust_pickle, ignore_infos=ignore_infos)
    n_shards = 0
    for shard, start in enumerate(range(0, len(trajectories), episodes_per_shard)):
        rng = np.random.default_rng(derive_seed("transitions-import-discard", game, seed, shard))
        frames, rows = [], []
        for k, traj in enumerate(trajectories[start : start + episodes_per_shard]):
            episode = start + k
            frames_ep = list(traj["obs"])
            last_info = traj["infos"][-1] if traj["infos"] else {}
            if isinstance(last_info, dict) and "final_obs" in last_info:
                final = np.asarray(last_info["final_obs"])
                frames_ep[-1] = final.transpose(1, 2, 0) if final.shape == (3, 64, 64) else final
            n = len(traj["acts"])
            reward = traj["rews"]
            kept = np.ones(n, dtype=bool) if zero_reward_discard <= 0 else (reward != 0) | (rng.random(n) >= zero_reward_discard)
            needed = np.zeros(n + 1, dtype=bool)
            needed[:-1] |= kept
            needed[1:] |= kept
            local = np.full(n + 1, -1, dtype=np.int64)
            local[needed] = len(frames) + np.arange(int(needed.sum()))
            frames.extend(np.asarray(frames_ep[i], dtype=np.uint8) for i in np.flatnonzero(needed))
            first = traj["infos"][0] if traj["infos"] and isinstance(traj["infos"][0], dict) else {}
            level = int(first.get("level_seed", -1))
            prev_agent = (np.nan, np.nan)
            for t in range(n):
                info = traj["infos"][t] if isinstance(traj["infos"][t], dict) else {}
                ax, ay = _xy(info, _AGENT_KEYS)
                gx, gy = _xy(info, _GOAL_KEYS)
                rows.append({
                    "episode": episode, "step": t, "obs_frame": local[t] if kept[t] else -1,
                    "next_obs_frame": local[t + 1] if kept[t] else -1, "action": int(traj["acts"][t]),
                    "reward": float(reward[t]), "done": bool(traj["terminal"] and t == n - 1),
                    "agent_x": ax, "agent_y": ay, "goal_x": gx, "goal_y": gy,
                    "obs_agent_x": prev_agent[0], "obs_agent_y": prev_agent[1],
                    "random_action": False, "kept": bool(kept[t]), "level_seed": level,
                })
                prev_agent = (ax, ay)
        table = pd.DataFrame(rows)
        for name, values in st.distance_features(table["agent_x"], table["agent_y"], table["goal_x"], table["goal_y"]).items():
            table[name] = values
        table["shard"] = shard
        table["game"] = game
        table["distribution_mode"] = distribution_mode
        table["policy"] = f"imported({Path(path).name})"
        write_shard(out_dir, shard, np.stack(frames), table)
        n_shards += 1
    return n_shards
