"""Figures C.14-C.21: the thesis's edits that did not fool the reward nets, made on Table 5.2's transitions.

The thesis edited, in GIMP, the same 16 CoinRun transitions (where the agent
reaches the coin) that Table 5.2 edits, eight more ways, and showed the edited
observations without numbers (appendix C.2: "edits ... made in an attempt to
fool the reward networks, but did not appear to succeed"). Here each edit is
made on the transitions of the edit step (``<dataset>-edits/edited_transitions.parquet``:
level seed, episode, step, action), replayed from their levels:

* in the game state where its layout allows it, the edited state stepped with the
  transition's action for the next observation (as Table 5.2's edits):
  C.14 the coin in the cell of the agent's head (landing on it); C.15 the coin
  replaced by a copy of the level's own enemy or saw (a level without one cannot
  take this edit); C.16 coins in every third empty cell around the agent; C.17
  the coin's column copied to the 8 columns right of it, so the platform runs on
  instead of ending at a wall; C.18 the coin removed; C.19 the agent made
  transparent (removed from both pictures);
* in the pixels where it does not: C.20 the background, found as the pixels a
  render without walls, coin and agent leaves unchanged, painted in bands with the
  coin's colours (from the pixels that removing the coin changes); C.21 the same
  with the coin removed.

Both observations are rendered from the original camera positions, as Table
5.2's. The game's reward of each edited state and action is recorded (the
background repaints keep the state, so their reward is the original's).
:func:`make_appendix_edits` writes the edit step's format
(``edited_transitions.npz``, ``edited_transitions.parquet``),
so the reward nets predict on them with the same step as Table 5.2
(:func:`nnstructure.reward.steps.predict_edits`); :func:`plot_appendix_edits`
draws each figure, each observation titled with the nets' predicted reward.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from nnstructure.io import atomic_path, read_parquet, save_figure, write_parquet

#: The edits, in figure order: (variant name, thesis figure, what it shows).
EDITS = (
    ("coin-on-agent", "Figure C.14", "the coin landing on the agent"),
    ("enemy-for-coin", "Figure C.15", "the coin replaced by an enemy"),
    ("many-coins", "Figure C.16", "many coins on screen"),
    ("platform-continues", "Figure C.17", "the platform continuing right of the coin"),
    ("coin-removed", "Figure C.18", "the coin removed"),
    ("agent-removed", "Figure C.19", "the agent removed"),
    ("background-coin-colours", "Figure C.20", "the background painted in the coin's colours"),
    ("background-coin-colours-no-coin", "Figure C.21", "the background painted in the coin's colours, coin removed"),
)
VARIANTS = tuple(name for name, _, _ in EDITS)
#: The folder of a transition dataset's appendix-C edits: ``<results>/transitions/<dataset><FOLDER_SUFFIX>``.
FOLDER_SUFFIX = "-edits-appendix-c"
#: Columns right of the coin that C.17's edit makes like the coin's column.
PLATFORM_COLUMNS = 8
#: Half-size (cells) of the window around the agent that C.16 fills with coins.
COIN_WINDOW = 6
#: Height (pixels) of the painted and unpainted bands of C.20 and C.21.
BAND = 6


class EditRejected(Exception):
    """An edit cannot be made on this transition (the reason is the message)."""


# ---------------------------------------------------------------------------------------------
# Edits of the game state (pre-step state in, edited state out)


def _st():
    from nnstructure.reward import state as st

    return st


def _agent_cells(state) -> tuple[range, range]:
    from nnstructure.reward.edits import entity_cells

    a = state.agent
    return entity_cells(a["x"], a["y"], a["rx"], a["ry"])


def coin_on_agent(state) -> bytes:
    """C.14: the coin moved into the cell of the agent's head."""
    st = _st()
    xs, ys = _agent_cells(state)
    x, y = int(np.float32(state.agent["x"])), ys.stop - 1
    if state.grid[y, x] not in (st.SPACE, st.COINRUN_GOAL):
        raise EditRejected("the cell of the agent's head is not empty")
    return st.with_grid_cells(state, {st.coin_cell(state): st.SPACE, (x, y): st.COINRUN_GOAL})


def enemy_for_coin(state) -> bytes:
    """C.15: the coin removed and a copy of the level's first enemy or saw put, still, in its cell."""
    st = _st()
    hazards = np.flatnonzero(np.isin(state.entities["type"], (st.COINRUN_ENEMY, st.COINRUN_SAW)))
    if not len(hazards):
        raise EditRejected("the level has no enemy or saw to copy")
    gx, gy = st.coin_cell(state)
    record = state.entities[int(hazards[0])].copy()
    record["x"], record["y"], record["vx"], record["vy"] = gx + 0.5, gy + 0.5, 0.0, 0.0
    raw = st.with_grid_cells(state, {(gx, gy): st.SPACE})
    return st.with_inserted_entity(st.parse_state(raw, "coinrun"), state.agent_index, record)


def many_coins(state) -> bytes:
    """C.16: coins in every third empty cell (by x + y) within :data:`COIN_WINDOW` cells of the agent, the cells
    next to the agent left empty."""
    st = _st()
    h, w = state.grid.shape
    xs, ys = _agent_cells(state)
    ax, ay = int(np.float32(state.agent["x"])), int(np.float32(state.agent["y"]))
    cells = {}
    for y in range(max(0, ay - COIN_WINDOW), min(h, ay + COIN_WINDOW + 1)):
        for x in range(max(0, ax - COIN_WINDOW), min(w, ax + COIN_WINDOW + 1)):
            near = xs.start - 1 <= x <= xs.stop and ys.start - 1 <= y <= ys.stop
            if not near and (x + y) % 3 == 0 and state.grid[y, x] == st.SPACE:
                cells[(x, y)] = st.COINRUN_GOAL
    if len(cells) < 3:
        raise EditRejected("fewer than 3 empty cells around the agent")
    return st.with_grid_cells(state, cells)


def platform_continues(state) -> bytes:
    """C.17: the :data:`PLATFORM_COLUMNS` columns right of the coin made like the coin's column (coin cell empty),
    so the ground runs on instead of ending at a wall."""
    st = _st()
    h, w = state.grid.shape
    gx, gy = st.coin_cell(state)
    columns = range(gx + 1, min(w - 1, gx + 1 + PLATFORM_COLUMNS))  # the outer wall column stays
    if not len(columns):
        raise EditRejected("the coin is at the right edge of the level")
    column = state.grid[:, gx].copy()
    column[gy] = st.SPACE
    return st.with_grid_cells(state, {(x, y): int(column[y]) for x in columns for y in range(h)})


def coin_removed(state) -> bytes:
    """C.18: the coin removed."""
    st = _st()
    return st.with_grid_cells(state, {st.coin_cell(state): st.SPACE})


def agent_removed(state) -> bytes:
    """C.19: the agent fully transparent (it still moves and collides)."""
    st = _st()
    return st.with_entity_fields(state, state.agent_index, alpha=0.0)


STATE_EDITS: dict[str, Callable] = {
    "coin-on-agent": coin_on_agent, "enemy-for-coin": enemy_for_coin, "many-coins": many_coins,
    "platform-continues": platform_continues, "coin-removed": coin_removed, "agent-removed": agent_removed,
}


# ---------------------------------------------------------------------------------------------
# Edits of the pixels


def _render(aux, raw: bytes, camera) -> np.ndarray:
    from nnstructure.reward.terminal import render_with_camera

    return render_with_camera(aux, raw, *camera).copy()


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=-1)


def coin_colours(aux, raw: bytes, camera) -> np.ndarray:
    """The colours of the coin's pixels in the render of ``raw`` (those that removing the coin changes)."""
    st = _st()
    state = st.parse_state(raw, "coinrun")
    frame = _render(aux, raw, camera)
    mask = _differs(frame, _render(aux, coin_removed(state), camera))
    if not mask.any():
        raise EditRejected("the coin is not in the picture")
    return np.unique(frame[mask], axis=0)


def background_mask(aux, raw: bytes, camera) -> np.ndarray:
    """The background pixels of the render of ``raw``: unchanged by removing every wall, lava and coin cell, and
    not the agent's (those that making it transparent changes) or another entity's."""
    st = _st()
    state = st.parse_state(raw, "coinrun")
    frame = _render(aux, raw, camera)
    ys, xs = np.nonzero(state.grid != st.SPACE)
    bare = st.with_grid_cells(state, {(int(x), int(y)): st.SPACE for x, y in zip(xs, ys)})
    bare_state = st.parse_state(bare, "coinrun")
    others = [i for i in range(len(bare_state.entities)) if i != bare_state.agent_index]
    for i in others:  # every entity but the agent made transparent: what they cover is not background
        bare = st.with_entity_fields(st.parse_state(bare, "coinrun"), i, alpha=0.0)
    no_agent = _render(aux, agent_removed(state), camera)
    covered = _differs(frame, no_agent) | _differs(_render(aux, bare, camera), _render(aux, raw, camera))
    return ~covered


def paint_bands(frame: np.ndarray, mask: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """``frame`` with the ``mask`` pixels of every other :data:`BAND`-pixel band painted in ``colours`` (cycling
    along each row, 3 pixels a colour)."""
    out = frame.copy()
    rows, cols = np.indices(mask.shape)
    paint = mask & ((rows // BAND) % 2 == 0)
    out[paint] = colours[(cols[paint] // 3) % len(colours)]
    return out


# ---------------------------------------------------------------------------------------------
# The step


def make_appendix_edits(dataset_dir: str | os.PathLike, edits_dir: str | os.PathLike, out_dir: str | os.PathLike) -> dict:
    """Every edit of :data:`EDITS` on the transitions of ``edits_dir`` (Table 5.2's originals), replayed from the
    dataset ``dataset_dir``; write them to ``out_dir`` in the edit step's format and return counts per edit.

    ``edited_transitions.parquet`` has one row per transition and edit: ``made`` is false, with the ``reason``,
    where the edit cannot be made on the transition (see each edit); the npz then holds the original frames in
    its place, which no figure or table shows.
    """
    from nnstructure.reward import state as st
    from nnstructure.reward.edits import game_reward, replay_to_step
    from nnstructure.reward.env import GameEnv
    from nnstructure.reward.terminal import ReplayError, replay_step_without_ending

    dataset_dir, edits_dir, out_dir = Path(dataset_dir), Path(edits_dir), Path(out_dir)
    table = read_parquet(dataset_dir / "transitions.parquet")
    originals = read_parquet(edits_dir / "edited_transitions.parquet")
    originals = originals[originals["variant"] == "original"].sort_values("index")
    mode = str(table["distribution_mode"].iloc[0])
    aux = GameEnv("coinrun", mode, 0)
    n = len(originals)
    obs = np.zeros((len(VARIANTS), n, 64, 64, 3), np.uint8)
    nxt = np.zeros_like(obs)
    actions = np.zeros((len(VARIANTS), n), np.int64)
    rows = []
    for i, rec in enumerate(originals.itertuples(index=False)):
        episode = table[table["episode"] == rec.episode].sort_values("step")
        env = GameEnv("coinrun", mode, int(rec.level_seed))
        pre = replay_to_step(env, episode["action"].to_numpy(), int(rec.step))
        action = int(rec.action)
        _, post = replay_step_without_ending(aux, pre, action)
        cameras = ((float(st.parse_state(pre, "coinrun").agent["x"]), float(st.parse_state(pre, "coinrun").agent["y"])),
                   (float(st.parse_state(post, "coinrun").agent["x"]), float(st.parse_state(post, "coinrun").agent["y"])))
        for v, variant in enumerate(VARIANTS):
            reason, frames, reward = "", None, float("nan")
            try:
                if variant in STATE_EDITS:
                    edited = STATE_EDITS[variant](st.parse_state(pre, "coinrun"))
                    reward = game_reward(aux, edited, action)
                    _, edited_post = replay_step_without_ending(aux, edited, action)
                    frames = (_render(aux, edited, cameras[0]), _render(aux, edited_post, cameras[1]))
                else:
                    colours = coin_colours(aux, pre, cameras[0])
                    states = (pre, post)
                    if variant.endswith("no-coin"):
                        states = tuple(coin_removed(st.parse_state(s, "coinrun")) for s in states)
                    reward = game_reward(aux, states[0], action)
                    frames = tuple(paint_bands(_render(aux, s, cam), background_mask(aux, s, cam), colours)
                                   for s, cam in zip(states, cameras))
            except (EditRejected, ReplayError) as exc:
                reason = str(exc)
            actions[v, i] = action
            if reason:  # the original frames hold the place (never shown; their predictions are dropped)
                frames = (_render(aux, pre, cameras[0]), _render(aux, post, cameras[1]))
            obs[v, i], nxt[v, i] = frames
            rows.append({"index": i, "variant": variant, "made": not reason, "reason": reason, "action": action,
                         "game_reward": float(reward), "episode": int(rec.episode), "step": int(rec.step),
                         "level_seed": int(rec.level_seed)})
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "edited_transitions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, obs=obs, next_obs=nxt, action=actions, variants=np.array(VARIANTS))
    table = pd.DataFrame(rows)
    write_parquet(table, out_dir / "edited_transitions.parquet")
    return {variant: int(table.loc[table["variant"] == variant, "made"].sum()) for variant in VARIANTS}


# ---------------------------------------------------------------------------------------------
# The figures and the table


def made_edits(edits_dir: str | os.PathLike) -> pd.DataFrame:
    """The rows of the edits that were made (index, variant, game_reward, ...)."""
    table = read_parquet(Path(edits_dir) / "edited_transitions.parquet")
    return table[table["made"]].reset_index(drop=True)


def appendix_edits_table(predictions: pd.DataFrame, made: pd.DataFrame) -> pd.DataFrame:
    """Our new table beside Figures C.14-C.21: per edit and network, the transitions edited, the game's mean
    reward and the nets' mean ± s.d. predicted reward on them (the predictions of edits not made dropped)."""
    keep = made[["index", "variant", "game_reward"]].rename(columns={"index": "example", "variant": "edit"})
    rows = predictions.drop(columns=[c for c in ("game_reward",) if c in predictions]).merge(keep, on=["example", "edit"])
    out = []
    for (figure_edit, network), group in rows.groupby(["edit", "network"], sort=False):
        figure, what = next((f, w) for name, f, w in EDITS if name == figure_edit)
        values = group["predicted_reward"].astype(float)
        out.append({"figure": figure, "edit": what, "network": network, "edited_transitions": len(group),
                    "game_reward": float(group["game_reward"].mean()), "predicted_mean": float(values.mean()),
                    "predicted_sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan")})
    order = {f: k for k, (_, f, _) in enumerate(EDITS)}
    table = pd.DataFrame(out, columns=["figure", "edit", "network", "edited_transitions", "game_reward",
                                       "predicted_mean", "predicted_sd"])
    return table.sort_values("figure", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def plot_appendix_edits(edits_dir: str | os.PathLike, predictions: pd.DataFrame | None, out_dir: str | os.PathLike,
                        suffix: str = "") -> dict[str, Path]:
    """Figures C.14-C.21 (``fig_c_14.png`` ...): the edited observations of each edit, one panel per transition
    it was made on, titled with the first network's predicted reward (and the game's reward)."""
    from matplotlib.figure import Figure

    edits_dir, out_dir = Path(edits_dir), Path(out_dir)
    made = made_edits(edits_dir)
    with np.load(edits_dir / "edited_transitions.npz") as z:
        obs = z["obs"]
    network = None
    if predictions is not None and len(predictions):
        network = str(predictions["network"].iloc[0])
        predictions = predictions[predictions["network"] == network].set_index(["edit", "example"])["predicted_reward"]
    written = {}
    for v, (variant, figure, what) in enumerate(EDITS):
        rows = made[made["variant"] == variant].sort_values("index")
        n = len(rows)
        cols = 4
        fig = Figure(figsize=(2.0 * cols, 2.2 * max(1, int(np.ceil(n / cols))) + 0.6))
        for k, row in enumerate(rows.itertuples(index=False)):
            ax = fig.add_subplot(int(np.ceil(n / cols)), cols, k + 1)
            ax.imshow(obs[v, int(row.index)], interpolation="nearest")
            title = f"({chr(97 + k)}) transition {int(row.index)}: game {row.game_reward:g}"
            if network is not None and (variant, int(row.index)) in predictions.index:
                title += f"\npredicted {float(predictions[(variant, int(row.index))]):.3g}"
            ax.set_title(title, fontsize=6)
            ax.set_axis_off()
        if not n:
            ax = fig.add_subplot(1, 1, 1)
            ax.text(0.5, 0.5, "no transition took this edit (edited_transitions.parquet says why)", ha="center")
            ax.set_axis_off()
        by = f"; predicted rewards of {network}" if network else ""
        import textwrap

        fig.suptitle("\n".join(textwrap.wrap(
            f"{figure}: observations with {what}. Ours: edited in the "
            f"{'pixels' if variant.startswith('background') else 'game state'}, {n} of Table 5.2's "
            f"transitions{by}", 100)), fontsize=8)
        stem = f"fig_c_{figure.split('.')[1]}{suffix}"
        save_figure(fig, out_dir / f"{stem}.png")
        written[stem] = out_dir / f"{stem}.png"
    return written


# ---------------------------------------------------------------------------------------------
# The reward nets' predictions on them


def predict_appendix_edits(checkpoint: str | os.PathLike, edits_dir: str | os.PathLike, out: str | os.PathLike, *,
                           label: str, transitions: str, device: str = "auto") -> pd.DataFrame:
    """A reward net's predicted rewards on the edits of :func:`make_appendix_edits` (as Table 5.2's: one row per
    edit and transition, with the network's ``label`` and the ``transitions`` dataset the edits come from)."""
    from nnstructure.reward.noise import predict_edits_checkpoint

    table = predict_edits_checkpoint(checkpoint, edits_dir, network=label, device=device).assign(transitions=transitions)
    write_parquet(table, out)
    return table
