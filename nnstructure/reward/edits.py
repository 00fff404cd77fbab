"""Table 5.2's edited CoinRun transitions, made by editing the game state (thesis 5.6).

The thesis edited 16 images of transitions where the agent reaches the coin in
GIMP. Here each edit is made in the game state and rendered by the game:

- original: the dataset transition, replayed from its level seed and actions
  (the replayed frame is checked against the stored one);
- translated: agent and coin moved along x in the state before the step, by the
  first of ``shifts`` (default 3, 2, then 4 cells to the left) that the game
  still rewards; the scene is rendered from the original
  camera positions (the observation's and the next observation's), so only the
  sprite and the coin move in the pictures, as in the thesis's Figure 5.16;
- rearranged: the agent put on the ground below it (the coin-reaching step is
  usually mid-jump), the coin moved to the cell above its head and the action
  replaced by a jump straight up (action 5), rendered from the original camera
  positions as well (the thesis's next observations also kept the original
  centring).

Every edit is checked with the game itself: the edited state (with the real,
visible agent) is stepped with the edit's action and must end the episode with
reward 10; candidates whose edit cannot be placed (a wall or a non-empty cell
in the way, the agent not standing on ground for the jump) or that the game
does not reward are skipped and counted in ``edit_attempts.parquet``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.io import read_parquet, save_figure, write_parquet, atomic_path
from nnstructure.reward import state as st
from nnstructure.reward.env import GameEnv
from nnstructure.reward.terminal import render_with_camera, replay_step_without_ending
from nnstructure.seeding import derive_seed

VARIANTS = ("original", "translated", "rearranged")
JUMP_UP = 5
_WALLS = (st.COINRUN_WALL_MID, st.COINRUN_WALL_TOP)


class EditRejected(Exception):
    """An edit cannot be made on this transition (the reason is the message)."""


def replay_to_step(env: GameEnv, actions, step: int) -> bytes:
    """Play ``actions[:step]`` from the start of ``env``'s current level; the state before ``actions[step]``."""
    for t in range(step):
        result = env.step(int(actions[t]))
        if result.done:
            raise RuntimeError(f"the replayed episode ended at step {t}, before step {step}: the dataset "
                               "was not made with this procgen build or these settings")
    return env.get_state()


def entity_cells(x, y, rx, ry) -> tuple[range, range]:
    """The grid cells (x range, y range) covered by an entity at centre (x, y) with half-sizes (rx, ry)."""
    eps = np.float32(0.001)
    x, y, rx, ry = (np.float32(v) for v in (x, y, rx, ry))
    return range(int(x - rx + eps), int(x + rx - eps) + 1), range(int(y - ry + eps), int(y + ry - eps) + 1)


def translate(state: st.ProcgenState, shift: int) -> bytes:
    """The state with the agent and the coin moved ``shift`` cells along x."""
    gx, gy = st.coin_cell(state)
    nx = gx + shift
    h, w = state.grid.shape
    if not 0 <= nx < w or state.grid[gy, nx] != st.SPACE:
        raise EditRejected(f"the cell {shift:+d} from the coin is not empty")
    a = state.agent
    xs, ys = entity_cells(float(a["x"]) + shift, a["y"], a["rx"], a["ry"])
    if any(state.grid[y, x] in _WALLS for x in xs for y in ys if 0 <= x < w and 0 <= y < h):
        raise EditRejected("the moved agent would overlap a wall")
    raw = st.with_grid_cells(state, {(gx, gy): st.SPACE, (nx, gy): st.COINRUN_GOAL})
    s = st.parse_state(raw, "coinrun")
    return st.with_entity_fields(s, s.agent_index, x=float(a["x"]) + shift)


def coin_above(state: st.ProcgenState) -> bytes:
    """The state with the agent standing on the ground below it and the coin in the cell above its head.

    The agent keeps its x; it is put on the first wall below its feet (rejected
    when lava or nothing is in between) with zero vertical speed, so the jump
    (action 5) that follows lifts it into the coin.
    """
    a = state.agent
    h, w = state.grid.shape
    x, y, rx, ry = (np.float32(a[k]) for k in ("x", "y", "rx", "ry"))
    xs, ys = entity_cells(x, y, rx, ry)
    floor = None
    for cy in range(ys.start, -1, -1):
        row = [state.grid[cy, cx] for cx in xs if 0 <= cx < w]
        if any(v in (st.COINRUN_LAVA_MID, st.COINRUN_LAVA_TOP) for v in row):
            raise EditRejected("there is lava below the agent")
        if any(v in _WALLS for v in row):
            floor = cy
            break
    if floor is None:
        raise EditRejected("there is no ground below the agent")
    new_y = np.float32(floor + 1) + ry
    xs, ys = entity_cells(x, new_y, rx, ry)
    if any(state.grid[cy, cx] in _WALLS for cx in xs for cy in ys if 0 <= cx < w and 0 <= cy < h):
        raise EditRejected("the agent standing below would overlap a wall")
    cx, cy = int(x), int(new_y + ry) + 1
    if not (0 <= cy < h) or state.grid[cy, cx] not in (st.SPACE, st.COINRUN_GOAL):
        raise EditRejected("the cell above the agent's head is not empty")
    gx, gy = st.coin_cell(state)
    raw = st.with_grid_cells(state, {(gx, gy): st.SPACE, (cx, cy): st.COINRUN_GOAL})
    s = st.parse_state(raw, "coinrun")
    return st.with_entity_fields(s, s.agent_index, y=float(new_y), vy=0.0)


def game_reward(env: GameEnv, raw: bytes, action: int) -> float:
    """Reward the game gives for ``action`` from state ``raw`` (10 when the agent reaches the coin)."""
    env.set_state(raw)
    result = env.step(action)
    return result.reward if result.done else 0.0


def make_edited_transitions(dataset_dir: str | os.PathLike, out_dir: str | os.PathLike, *, n: int = 16, seed: int = 0,
                            shifts: tuple[int, ...] = (-3, -2, -4), max_candidates: int | None = None) -> dict:
    """Find ``n`` rewarded transitions of a CoinRun dataset on which both edits work; write them and figures.

    Writes ``edited_transitions.npz`` (``obs``/``next_obs`` uint8 [3, n, 64, 64, 3] in
    VARIANTS order, ``action`` [3, n]), ``edited_transitions.parquet`` (one row per
    transition and variant), ``edit_attempts.parquet`` (every candidate and edit
    tried, with the reason when it failed) and the figures
    ``fig_5_16.png``, ``fig_5_17.png``, ``fig_c08.png``..``fig_c13.png``.
    """
    from nnstructure.reward.transitions import read_shard_frames, shard_frames_path

    if not shifts or 0 in shifts:
        raise ValueError(f"shifts {shifts} must be non-zero numbers of cells (negative: to the left)")
    dataset_dir, out_dir = Path(dataset_dir), Path(out_dir)
    table = read_parquet(dataset_dir / "transitions.parquet")
    if (table["game"] != "coinrun").any():
        raise ValueError(f"{dataset_dir} is not a CoinRun dataset; the edits of thesis 5.6 are CoinRun's")
    mode = str(table["distribution_mode"].iloc[0])
    rewarded = table.index[(table["reward"] > 0) & table["kept"]].to_numpy()
    rng = np.random.default_rng(derive_seed("edited-transitions", seed))
    order = rewarded[rng.permutation(len(rewarded))]
    if max_candidates is not None:
        order = order[:max_candidates]
    aux = GameEnv("coinrun", mode, 0)
    episode_of = table["episode"].to_numpy()
    frames_cache: dict[int, np.ndarray] = {}
    kept: dict[str, list] = {k: [] for k in ("obs", "next_obs", "action", "rows", "shift")}
    attempts = []
    for row in order:
        if len(kept["rows"]) == n:
            break
        rec = table.loc[row]
        ep = table[episode_of == rec["episode"]].sort_values("step")
        level, step = int(rec["level_seed"]), int(rec["step"])
        env = GameEnv("coinrun", mode, level)
        pre_raw = replay_to_step(env, ep["action"].to_numpy(), step)
        pre = st.parse_state(pre_raw, "coinrun")
        action = int(rec["action"])
        shard = int(rec["shard"])
        if shard not in frames_cache:
            frames_cache = {shard: read_shard_frames(shard_frames_path(dataset_dir, shard))}
        if not np.array_equal(env.obs, frames_cache[shard][int(rec["obs_frame"])]):
            raise RuntimeError(f"replaying episode {rec['episode']} (level {level}) does not reproduce its stored frames; "
                               "the dataset was made with another procgen build or settings")
        if game_reward(aux, pre_raw, action) != 10:
            raise RuntimeError(f"transition at row {row} does not earn reward 10 when replayed")
        orig_next, orig_post = replay_step_without_ending(aux, pre_raw, action)
        post_agent = st.parse_state(orig_post, "coinrun").agent
        cam_obs = (float(pre.agent["x"]), float(pre.agent["y"]))
        cam_next = (float(post_agent["x"]), float(post_agent["y"]))
        results = {"original": (frames_cache[shard][int(rec["obs_frame"])], orig_next, action)}
        tries = [("translated", shift, (lambda k=shift: translate(pre, k)), action) for shift in shifts]
        tries.append(("rearranged", 0, lambda: coin_above(pre), JUMP_UP))
        for variant, shift, build, act in tries:
            if variant in results:
                continue
            reason = ""
            try:
                edited = build()
                reward = game_reward(aux, edited, act)
                if reward != 10:
                    raise EditRejected(f"the game gives reward {reward:g}, not 10")
                _, post = replay_step_without_ending(aux, edited, act)
                results[variant] = (render_with_camera(aux, edited, *cam_obs),
                                    render_with_camera(aux, post, *cam_next), act, shift)
            except EditRejected as exc:
                reason = str(exc)
            attempts.append({"row": int(row), "episode": int(rec["episode"]), "step": step, "level_seed": level,
                             "edit": variant, "shift_cells": shift, "ok": not reason, "reason": reason})
        if all(v in results for v in VARIANTS):
            for k, i in (("obs", 0), ("next_obs", 1), ("action", 2)):
                kept[k].append([results[v][i] for v in VARIANTS])
            kept["rows"].append(rec)
            kept["shift"].append(results["translated"][3])
    found = len(kept["rows"])
    attempts_df = pd.DataFrame(attempts, columns=["row", "episode", "step", "level_seed", "edit", "shift_cells", "ok", "reason"])
    if found < n:
        reasons = attempts_df.loc[~attempts_df["ok"]].groupby(["edit", "reason"]).size()
        raise RuntimeError(
            f"only {found} of {len(order)} rewarded transitions in {dataset_dir} took both edits; need {n}. "
            f"Failures: {'; '.join(f'{e}: {r} ({c}x)' for (e, r), c in reasons.items())}. "
            "Use a larger dataset or a smaller --n"
        )
    obs = np.stack(kept["obs"], axis=1)
    next_obs = np.stack(kept["next_obs"], axis=1)
    actions = np.asarray(kept["action"], dtype=np.int64).T
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "edited_transitions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, obs=obs, next_obs=next_obs, action=actions, variants=np.array(VARIANTS))
    rows = []
    for i, rec in enumerate(kept["rows"]):
        for v, variant in enumerate(VARIANTS):
            rows.append({"index": i, "variant": variant, "action": int(actions[v, i]), "game_reward": 10.0,
                         "episode": int(rec["episode"]), "step": int(rec["step"]), "level_seed": int(rec["level_seed"]),
                         "dataset_row": int(rec.name), "shift_cells": kept["shift"][i] if variant == "translated" else 0,
                         "seed": seed})
    write_parquet(pd.DataFrame(rows), out_dir / "edited_transitions.parquet")
    write_parquet(attempts_df, out_dir / "edit_attempts.parquet")
    _figures(obs, next_obs, out_dir)
    failed = attempts_df[~attempts_df["ok"]]
    return {
        "transitions": n, "candidates_tried": int(attempts_df["row"].nunique()),
        "failed_translated": int((failed["edit"] == "translated").sum()),  # one per shift tried
        "failed_rearranged": int((failed["edit"] == "rearranged").sum()),
        "failed_by_game": int(failed["reason"].str.startswith("the game gives").sum()),
    }


def _figures(obs: np.ndarray, next_obs: np.ndarray, out_dir: Path) -> None:
    """Figures 5.16/5.17 (two translated / rearranged transitions) and C.8-C.13 (all 16, 8 per figure)."""
    names = {"translated": "fig_5_16.png", "rearranged": "fig_5_17.png"}
    for v, variant in enumerate(VARIANTS):
        if variant in names:
            _grid(obs[v, :2], next_obs[v, :2], out_dir / names[variant], f"{variant} transitions (thesis Figure "
                  f"{'5.16' if variant == 'translated' else '5.17'})")
        for half in range(2):
            number = 8 + 2 * v + half
            sl = slice(8 * half, 8 * half + 8)
            _grid(obs[v, sl], next_obs[v, sl], out_dir / f"fig_c{number:02d}.png",
                  f"{variant} transitions {8 * half + 1}-{8 * half + len(obs[v, sl])} (thesis Figure C.{number})")


def _grid(obs: np.ndarray, next_obs: np.ndarray, path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    n = len(obs)
    cols = 4 if n > 1 else 2
    rows = int(np.ceil(2 * n / cols))
    fig = Figure(figsize=(2.0 * cols, 2.1 * rows + 0.4))
    for i in range(n):
        for j, (img, label) in enumerate(((obs[i], "observation"), (next_obs[i], "next observation"))):
            ax = fig.add_subplot(rows, cols, 2 * i + j + 1)
            ax.imshow(img, interpolation="nearest")
            ax.set_title(f"{i + 1}: {label}", fontsize=7)
            ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)
