"""procgen CoinRun and Heist environments (procgen-mirror 0.10.7, gym3 interface).

Observations are 64x64x3 uint8 frames; there are 15 actions, of which 0-8 move by
``(dx, dy) = (a // 3 - 1, a % 3 - 1)`` (dy = +1 is up/jump) and 9-14 do nothing in
these two games. procgen is imported lazily, only when an environment is made,
so the rest of the package works without it.

:class:`GameEnv` wraps one procgen environment with the controls a dataset needs:
the level of every episode is chosen explicitly (:meth:`GameEnv.queue_level`
patches the level-seed range in the game state, so the automatic reset after the
current episode starts exactly that level), and the game state can be read,
parsed and restored.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from nnstructure.reward.state import GAMES, ProcgenState, parse_state, with_fields

N_ACTIONS = 15
DISTRIBUTION_MODES = ("easy", "hard")
FRAME_SHAPE = (64, 64, 3)
ACTION_NAMES = (
    "left+down", "left", "left+up", "down", "noop", "up", "right+down", "right", "right+up",
    "D", "A", "W", "S", "Q", "E",
)
NOOP = 4

# Debian packages holding the shared libraries procgen's prebuilt library links against.
_SYSTEM_PACKAGES = {
    "libGL.so": "libgl1",
    "libGLX.so": "libgl1",
    "libGLdispatch.so": "libgl1",
    "libglib-2.0.so": "libglib2.0-0",
    "libgthread-2.0.so": "libglib2.0-0",
    "libX11.so": "libx11-6",
}


def action_delta(action: int) -> tuple[int, int]:
    """(dx, dy) of an action: ``(a // 3 - 1, a % 3 - 1)`` for 0-8, (0, 0) for 9-14."""
    if not 0 <= action < N_ACTIONS:
        raise ValueError(f"action {action} is outside 0..{N_ACTIONS - 1}")
    if action >= 9:
        return 0, 0
    return action // 3 - 1, action % 3 - 1


def action_for_delta(dx: int, dy: int) -> int:
    """The movement action 0-8 with the given (dx, dy) in {-1, 0, 1}."""
    if dx not in (-1, 0, 1) or dy not in (-1, 0, 1):
        raise ValueError(f"(dx, dy) = ({dx}, {dy}) must be in {{-1, 0, 1}}")
    return (dx + 1) * 3 + (dy + 1)


def load_procgen():
    """Import procgen, with errors that name the fix (pip package, system libraries)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # gym's import prints an unmaintained-notice
            import procgen
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "chapter 5 needs procgen: install it with `.venv/bin/python -m pip install procgen-mirror==0.10.7` "
            "(it is in requirements.txt; `make install` does it)"
        ) from exc
    version = getattr(procgen, "__version__", "?").strip()
    if version != "0.10.7":
        raise RuntimeError(
            f"procgen {version} is installed but the state parser is written for 0.10.7; "
            "install procgen-mirror==0.10.7"
        )
    return procgen


def _missing_library_error(exc: OSError) -> RuntimeError:
    text = str(exc)
    packages = ["libgl1", "libglib2.0-0"]
    packages += sorted({pkg for lib, pkg in _SYSTEM_PACKAGES.items() if lib in text} - set(packages))
    return RuntimeError(
        f"procgen's environment library could not be loaded ({text}). It needs the system libraries "
        f"libGL and glib; on Debian/Ubuntu install them with `sudo apt-get install {' '.join(packages)}`"
    )


def make_procgen_env(game: str, distribution_mode: str = "hard", *, num: int = 1, start_level: int = 0,
                     num_levels: int = 1, num_threads: int = 0, rand_seed: int = 0):
    """A ``ProcgenGym3Env`` of ``num`` copies of ``game``.

    ``num_threads=0`` steps on the calling thread (one core per process).
    ``num_levels=1`` with ``start_level=L`` makes the first episode level ``L``.
    """
    if game not in GAMES:
        raise ValueError(f"game {game!r} is not supported; choose one of: {', '.join(GAMES)}")
    if distribution_mode not in DISTRIBUTION_MODES:
        raise ValueError(f"distribution_mode {distribution_mode!r}: choose one of {', '.join(DISTRIBUTION_MODES)}")
    if start_level < 0 or num_levels < 0:
        raise ValueError(f"start_level ({start_level}) and num_levels ({num_levels}) must be >= 0")
    procgen = load_procgen()
    try:
        return procgen.ProcgenGym3Env(
            num=num, env_name=game, distribution_mode=distribution_mode, start_level=start_level,
            num_levels=num_levels, num_threads=num_threads, rand_seed=rand_seed,
        )
    except OSError as exc:
        raise _missing_library_error(exc) from exc


@dataclass
class Step:
    """What one step returned. ``obs`` is the frame procgen shows next: on ``done``
    it already belongs to the next level (procgen resets automatically)."""

    obs: np.ndarray
    reward: float
    done: bool
    level_seed: int  # level of the frame ``obs``


class GameEnv:
    """One procgen environment of ``game`` whose first episode is level ``level_seed``."""

    def __init__(self, game: str, distribution_mode: str = "hard", level_seed: int = 0):
        self.game = game
        self.distribution_mode = distribution_mode
        self.env = make_procgen_env(game, distribution_mode, start_level=level_seed, num_levels=1)
        self._action = np.zeros(1, dtype=np.int32)
        self._level = level_seed

    @property
    def obs(self) -> np.ndarray:
        """The current frame (64x64x3 uint8, a copy)."""
        _, ob, _ = self.env.observe()
        return ob["rgb"][0].copy()

    @property
    def level_seed(self) -> int:
        """Level of the current frame."""
        return self._level

    def step(self, action: int) -> Step:
        self._action[0] = action
        self.env.act(self._action)
        rew, ob, first = self.env.observe()
        done = bool(first[0])
        if done:  # a new level started (the level only changes on reset)
            self._level = int(self.env.get_info()[0]["level_seed"])
        return Step(ob["rgb"][0].copy(), float(rew[0]), done, self._level)

    def get_state(self) -> bytes:
        return self.env.callmethod("get_state")[0]

    def state(self) -> ProcgenState:
        return parse_state(self.get_state(), self.game)

    def set_state(self, raw: bytes) -> None:
        """Restore a state; procgen re-renders the frame, so :attr:`obs` shows it."""
        self.env.callmethod("set_state", [raw])
        self._level = int(self.env.get_info()[0]["level_seed"])

    def queue_level(self, level_seed: int, state: ProcgenState | None = None) -> None:
        """Make the next automatic reset start level ``level_seed`` (the current episode is unchanged)."""
        state = state if state is not None else self.state()
        self.set_state(with_fields(state, level_seed_low=level_seed, level_seed_high=level_seed + 1))
