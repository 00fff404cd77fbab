"""Which next observation a reward net sees on the step that ends an episode: the real one, or the observation again.

Every rewarded CoinRun transition ends its episode, so this one frame decides what
a reward net can learn from. Two datasets can be read from the same shards:

- ``real``: the frame after the final action, with the agent on the coin
  (rebuilt by :func:`nnstructure.reward.terminal.replay_step_without_ending`;
  what the original code's ``procgen-*-final-obs`` environments return, through
  its procgen fork). The thesis text's "the observation and next observation"
  reads this way.
- ``repeat``: the observation again. procgen's own gym environment
  (``procgen:procgen-coinrun-v0``) returns the previous frame on the step that
  ends an episode (checked on procgen 0.10.7: every terminal frame it returns is
  bit-identical to the one before), and the original code's 15-epoch CoinRun net
  was trained under that environment name (its checkpoint path in
  ``scripts/feed_inputs_to_reward_net.py``). Three numbers of the thesis fit
  a net that learned "the two frames are identical" as the cue: Table 5.1's
  identical noise pairs get more reward than different ones (9.9 against 7.3,
  and 70.5 against 40.1), and test losses of 0.046 and 0.038 sit just under the
  0.06 of a net that only detects terminal steps (1% of transitions, 6.4% of
  them deaths). On our CoinRun data only 0.14% of non-terminal transitions have
  two identical frames.

The shards store every frame once, the observation of the terminal step
included, so ``repeat`` is exact: it points the terminal transitions' next
observation at their observation, with no new rollout. The choice is a setting
of each reward net (``terminal_frame``), recorded in its checkpoint and used by
everything that feeds it transitions (training, probes, visualisation from
dataset transitions, Table 5.2's edits).
"""

from __future__ import annotations

import numpy as np

TERMINAL_FRAMES = ("real", "repeat")
#: The frames as the shards store them: reading them needs no remapping.
AS_STORED = "real"
#: Checkpoints that do not record the setting were trained before it existed, on the real frames.
UNRECORDED = AS_STORED
#: Table 5.2's edits whose two frames are the same edit of the one original pair, and so repeat under ``repeat``:
#: the original, and the translation (the thesis moved coin and sprite in both frames). The rearranged edit
#: shows the sprite jumping up to the coin in its next observation, a different frame by construction.
REPEATED_EDITS = ("original", "translated")


def check_terminal_frame(mode: str) -> str:
    if mode not in TERMINAL_FRAMES:
        raise ValueError(f"terminal_frame {mode!r}: choose one of {', '.join(TERMINAL_FRAMES)} "
                         "(real: the frame after the final action; repeat: the observation again, as procgen's gym env)")
    return mode


def next_obs_frames(obs_frame: np.ndarray, next_obs_frame: np.ndarray, done: np.ndarray, mode: str) -> np.ndarray:
    """The frame index of every transition's next observation under ``mode`` (a new array for ``repeat``)."""
    if check_terminal_frame(mode) == AS_STORED:
        return next_obs_frame
    done = np.asarray(done, dtype=bool)
    out = np.array(next_obs_frame, copy=True)
    out[done] = np.asarray(obs_frame)[done]
    return out


def edit_sets_with_terminal_frame(sets: dict[str, dict], mode: str) -> dict[str, dict]:
    """Table 5.2's edit sets as a net trained with ``mode`` sees them (``repeat``: see :data:`REPEATED_EDITS`)."""
    if check_terminal_frame(mode) == AS_STORED:
        return sets
    return {name: ({**batch, "next_obs": batch["obs"]} if name in REPEATED_EDITS else batch) for name, batch in sets.items()}


def network_terminal_frame(metadata: dict) -> str:
    """The terminal frame a reward net was trained with (its checkpoint's settings), :data:`UNRECORDED` if none."""
    for key in ("reward_net_settings", "adversarial_settings"):
        settings = metadata.get(key) or {}
        if "terminal_frame" in settings:
            return check_terminal_frame(str(settings["terminal_frame"]))
    return UNRECORDED
