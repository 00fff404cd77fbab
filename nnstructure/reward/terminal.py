"""The real last frame of an episode, and frames rendered with a fixed camera.

procgen resets inside the step that ends an episode, so the frame it returns on
``done`` already shows the next level, and the world right after the final
action is never rendered. :func:`replay_step_without_ending` rebuilds it: from
the state saved before the final step it switches off, in a copy of the state,
everything that can end the episode (the coin cell or the gem's collision, lava
cells, the collisions of saws and enemies, the step limit), replays the same
action on a second environment (same physics: none of those switches changes
how anything moves), restores the switched-off parts in the resulting state
and lets the game render it. On a step that does not end the episode the
rebuilt frame equals procgen's own frame bit for bit (tested).

:func:`render_with_camera` renders a state with the CoinRun camera at a chosen
point instead of on the agent (needed for Table 5.2's edits, where the sprite
moves in the picture but the scene does not): the agent entity becomes an
invisible camera anchor and a visible copy of it is drawn where the agent is.
"""

from __future__ import annotations

import numpy as np

from nnstructure.reward import state as st
from nnstructure.reward.env import GameEnv

_NO_COLLISION = -1.0e6  # a collision margin no distance can beat
_NO_TIMEOUT = 2**30


class ReplayError(RuntimeError):
    """A replayed step did not behave as the rebuild assumes."""


def _switch_off_endings(state: st.ProcgenState) -> tuple[bytes, dict]:
    """The state with every way of ending the episode switched off, and what to restore."""
    restore: dict = {"timeout": state.fields["timeout"], "cells": {}}
    raw = st.with_fields(state, timeout=_NO_TIMEOUT)
    s = st.parse_state(raw, state.game)
    if state.game == "coinrun":
        ys, xs = np.nonzero(np.isin(s.grid, (st.COINRUN_GOAL, st.COINRUN_LAVA_MID, st.COINRUN_LAVA_TOP)))
        cells = {(int(x), int(y)): int(s.grid[y, x]) for x, y in zip(xs, ys)}
        restore["cells"] = cells
        raw = st.with_grid_cells(s, {c: st.SPACE for c in cells})
        s = st.parse_state(raw, state.game)
        hazard_types = (st.COINRUN_SAW, st.COINRUN_ENEMY)
    else:
        hazard_types = (st.HEIST_GEM,)
    hazards = np.flatnonzero(np.isin(s.entities["type"], hazard_types))
    if len(hazards):
        margins = np.unique(s.entities["collision_margin"][hazards])
        if len(margins) != 1:
            raise ReplayError(f"{state.game}: hazards have several collision margins {margins.tolist()}")
        restore["margin"] = float(margins[0])
        buf = bytearray(raw)
        rec = np.frombuffer(buf, dtype=st.ENTITY_DTYPE, count=len(s.entities), offset=s.entities_offset)
        rec["collision_margin"][hazards] = _NO_COLLISION
        raw = bytes(buf)
    return raw, restore


def _restore_endings(raw: bytes, game: str, restore: dict) -> bytes:
    s = st.parse_state(raw, game)
    raw = st.with_fields(s, timeout=restore["timeout"])
    if restore["cells"]:
        raw = st.with_grid_cells(st.parse_state(raw, game), restore["cells"])
    if "margin" in restore:
        s = st.parse_state(raw, game)
        buf = bytearray(raw)
        rec = np.frombuffer(buf, dtype=st.ENTITY_DTYPE, count=len(s.entities), offset=s.entities_offset)
        switched = rec["collision_margin"] == np.float32(_NO_COLLISION)
        rec["collision_margin"][switched] = restore["margin"]
        raw = bytes(buf)
    return raw


def replay_step_without_ending(aux: GameEnv, pre_state: bytes, action: int) -> tuple[np.ndarray, bytes]:
    """Replay ``action`` from ``pre_state`` on ``aux`` without letting the episode end.

    Returns the frame the game renders right after the step and the state after
    the step (with the coin, lava, hazards and step limit restored, so the game's
    own collision tests, e.g. :func:`nnstructure.reward.state.agent_touches_goal`,
    can be evaluated on it). ``aux`` must be an environment of the same game.
    """
    s = st.parse_state(pre_state, aux.game)
    patched, restore = _switch_off_endings(s)
    aux.set_state(patched)
    step = aux.step(action)
    if step.done or step.reward != 0:
        raise ReplayError(
            f"{aux.game}: the replayed step still ended the episode (reward {step.reward}, done {step.done}); "
            "a terminal condition was not switched off"
        )
    post = _restore_endings(aux.get_state(), aux.game, restore)
    aux.set_state(post)
    return aux.obs, post


def render_with_camera(aux: GameEnv, raw: bytes, camera_x: float, camera_y: float) -> np.ndarray:
    """Render a CoinRun state with the camera centred on (camera_x, camera_y) instead of the agent.

    The agent (the last PLAYER entity, which procgen's camera follows) is moved
    to the camera point and made fully transparent; a visible copy of it is
    inserted before it at the agent's real position, with the same pose.
    """
    s = st.parse_state(raw, aux.game)
    if aux.game != "coinrun":
        raise ValueError("render_with_camera is for CoinRun (Heist's camera shows the whole maze)")
    i = s.agent_index
    sprite = s.entities[i].copy()
    raw = st.with_entity_fields(s, i, x=camera_x, y=camera_y, alpha=0.0)
    raw = st.with_inserted_entity(st.parse_state(raw, aux.game), i, sprite)
    aux.set_state(raw)
    return aux.obs
