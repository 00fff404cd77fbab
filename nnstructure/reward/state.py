"""Parse and edit procgen 0.10.7's serialised game state (``env.callmethod("get_state")``).

The byte layout (procgen's ``Game::serialize``, ``BasicAbstractGame::serialize``,
``Entity::serialize``, ``Grid::serialize``, the CoinRun/Heist tails and the
``0xCAFECAFE`` trailer appended by ``get_state``) is documented in
``shared/reference/procgen-state-layout.md``. The three random-generator dumps
have variable length, so the buffer is read sequentially; every scalar field,
entity record and grid cell keeps its byte offset, which is what the editing
functions (:func:`with_fields`, :func:`with_entity_fields`, :func:`with_grid_cells`,
:func:`with_inserted_entity`) patch. Anything that does not match the layout
raises :class:`StateParseError` naming the game and the byte offset.

World units are grid cells with the y axis pointing up; an entity's ``(x, y)``
is its centre and ``(rx, ry)`` its half-extents.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import Mapping

import numpy as np

SERIALIZE_VERSION = 0
END_OF_BUFFER = 0xCAFECAFE
GAMES = ("coinrun", "heist")
DISTRIBUTION_MODES = {0: "easy", 1: "hard", 2: "extreme", 10: "memory"}

# Entity types and grid values used below (procgen's object-ids.h and the game sources).
PLAYER = 0
SPACE = 100
WALL_OBJ = 51  # Heist walls
COINRUN_GOAL = 1
COINRUN_SAW = 2
COINRUN_ENEMY = 5
COINRUN_WALL_MID = 15
COINRUN_WALL_TOP = 16
COINRUN_LAVA_MID = 17
COINRUN_LAVA_TOP = 18
HEIST_DOOR = 1
HEIST_KEY = 2
HEIST_GEM = 9
HEIST_KEY_ON_RING = 11

# procgen's collision slack (basic-abstract-game.cpp POS_EPS), as float32 like the C++ code.
_POS_EPS = np.float32(-0.001)

# Thesis 5.7.1: caps of the probed distance functions.
DISTANCE_CAP = 18.4
DISTANCE_SQ_CAP = 338.0
INV_DISTANCE_CAP = 5.0
INV_DISTANCE_SQ_CAP = 5.0
COIN_VISIBLE_DISTANCE = 6.0

ENTITY_DTYPE = np.dtype(
    [
        ("x", "<f4"), ("y", "<f4"), ("vx", "<f4"), ("vy", "<f4"), ("rx", "<f4"), ("ry", "<f4"),
        ("type", "<i4"), ("image_type", "<i4"), ("image_theme", "<i4"), ("render_z", "<i4"),
        ("will_erase", "<i4"), ("collides_with_entities", "<i4"), ("collision_margin", "<f4"),
        ("rotation", "<f4"), ("vrot", "<f4"), ("is_reflected", "<i4"), ("fire_time", "<i4"),
        ("spawn_time", "<i4"), ("life_time", "<i4"), ("expire_time", "<i4"), ("use_abs_coords", "<i4"),
        ("friction", "<f4"), ("smart_step", "<i4"), ("avoids_collisions", "<i4"), ("auto_erase", "<i4"),
        ("alpha", "<f4"), ("health", "<f4"), ("theta", "<f4"), ("grow_rate", "<f4"),
        ("alpha_decay", "<f4"), ("climber_spawn_x", "<f4"),
    ]
)
assert ENTITY_DTYPE.itemsize == 124

# Blocks of consecutive scalars, in serialisation order: (field names, struct codes).
_OPTIONS_BLOCK = (
    ("paint_vel_info", "use_generated_assets", "use_monochrome_assets", "restrict_themes", "use_backgrounds",
     "center_agent", "debug_mode", "distribution_mode", "use_sequential_levels", "use_easy_jump", "plain_assets",
     "physics_mode", "grid_step", "level_seed_low", "level_seed_high", "game_type", "game_n"),
    "17i",
)
_STEP_BLOCK = (
    ("reward", "done", "level_complete", "action", "timeout", "current_level_seed", "prev_level_seed",
     "episodes_remaining", "episode_done", "last_reward_timer", "last_reward", "default_action",
     "fixed_asset_seed", "cur_time", "is_waiting_for_step", "grid_size"),
    "f9if5i",
)
_ABSTRACT_BLOCK = (
    ("use_procgen_background", "background_index", "bg_tile_ratio", "bg_pct_x", "char_dim", "last_move_action",
     "move_action", "special_action", "mixrate", "maxspeed", "max_jump", "action_vx", "action_vy", "action_vrot",
     "center_x", "center_y", "random_agent_start", "has_useful_vel_info", "step_rand_int"),
    "2i3f3i8f3i",
)
_VIEW_BLOCK = (
    ("main_width", "main_height", "out_of_bounds_object", "unit", "view_dim", "x_off", "y_off", "visibility",
     "min_visibility", "grid_w", "grid_h", "grid_count"),
    "3i6f3i",
)
_COINRUN_TAIL = (
    ("last_agent_y", "wall_theme", "has_support", "facing_right", "is_on_crate", "gravity", "air_control"),
    "f4i2f",
)
_HEIST_TAIL = (("num_keys", "world_dim", "has_keys_count"), "3i")


def _compile(block):
    names, codes = block
    st = struct.Struct("<" + codes)
    assert len(names) == len(st.unpack(bytes(st.size))), names
    # per-field (offset within block, code) for patching
    fields, off = [], 0
    for code in _expand(codes):
        fields.append((off, code))
        off += 4
    return names, st, fields


def _expand(codes: str) -> list[str]:
    out, num = [], ""
    for ch in codes:
        if ch.isdigit():
            num += ch
        else:
            out.extend([ch] * int(num or 1))
            num = ""
    return out


_BLOCKS = {name: _compile(b) for name, b in {
    "options": _OPTIONS_BLOCK, "step": _STEP_BLOCK, "abstract": _ABSTRACT_BLOCK, "view": _VIEW_BLOCK,
    "coinrun": _COINRUN_TAIL, "heist": _HEIST_TAIL,
}.items()}
_INT = struct.Struct("<i")
_UINT = struct.Struct("<I")
_RANDGEN_HEAD = struct.Struct("<2i")  # is_seeded, length of the text dump
# name -> (block, byte offset within the block, struct code) for every scalar field.
_FIELD_LOCATIONS = {
    fname: (block, rel, code)
    for block, (names, _, layout) in _BLOCKS.items()
    for fname, (rel, code) in zip(names, layout)
}


class StateParseError(ValueError):
    """A procgen state buffer does not follow procgen 0.10.7's layout."""


class ProcgenState:
    """A parsed procgen state; arrays are read-only views into ``raw``.

    ``fields`` holds every named scalar (options, step data, physics, view and
    the game's tail); ``block_offsets`` the byte offset of each block of
    fields and of each random-generator dump (see :func:`field_offset`).
    ``entities`` is a structured array (``ENTITY_DTYPE``) starting at byte
    ``entities_offset``; ``grid[y, x]`` is the grid (y = 0 is the bottom row)
    starting at byte ``grid_offset``. Views and the field dict are built on
    first use, so parsing a state to read a few positions stays cheap.
    """

    __slots__ = ("game", "raw", "block_offsets", "entities_offset", "n_entities", "grid_offset", "grid_shape",
                 "has_keys", "_values", "_fields", "_entities", "_grid", "_types")

    def __init__(self, game, raw, values, block_offsets, entities_offset, n_entities, grid_offset, grid_shape,
                 has_keys):
        self.game = game
        self.raw = raw
        self._values = values  # block name -> tuple of its scalars
        self.block_offsets = block_offsets
        self.entities_offset = entities_offset
        self.n_entities = n_entities
        self.grid_offset = grid_offset
        self.grid_shape = grid_shape
        self.has_keys = has_keys
        self._fields = self._entities = self._grid = self._types = None

    def __repr__(self) -> str:
        return f"<ProcgenState {self.game} {self.distribution_mode}, {len(self.raw)} bytes, {self.n_entities} entities>"

    @property
    def fields(self) -> dict:
        if self._fields is None:
            fields = {}
            for block, values in self._values.items():
                fields.update(zip(_BLOCKS[block][0], values))
            self._fields = fields
        return self._fields

    @property
    def entities(self) -> np.ndarray:
        if self._entities is None:
            self._entities = np.frombuffer(self.raw, dtype=ENTITY_DTYPE, count=self.n_entities,
                                           offset=self.entities_offset)
        return self._entities

    @property
    def grid(self) -> np.ndarray:
        if self._grid is None:
            h, w = self.grid_shape
            self._grid = np.frombuffer(self.raw, dtype="<i4", count=h * w, offset=self.grid_offset).reshape(h, w)
        return self._grid

    @property
    def entity_types(self) -> list[int]:
        """The ``type`` of every entity, as a Python list."""
        if self._types is None:
            self._types = list(_entity_types_struct(self.n_entities).unpack_from(self.raw, self.entities_offset + 24))
        return self._types

    @property
    def distribution_mode(self) -> str:
        mode = self._values["options"][7]
        return DISTRIBUTION_MODES.get(mode, str(mode))

    @property
    def agent_index(self) -> int:
        """Index of the agent: the LAST entity of type PLAYER (what procgen binds on deserialize)."""
        types = self.entity_types
        try:
            return len(types) - 1 - types[::-1].index(PLAYER)
        except ValueError:
            raise StateParseError(f"{self.game} state has no PLAYER entity (type 0) among {len(types)} entities") from None

    @property
    def agent(self) -> np.void:
        return self.entities[self.agent_index]

    def entity_xy(self, index: int) -> tuple[float, float]:
        """Centre (x, y) of entity ``index``."""
        return _XY.unpack_from(self.raw, self.entities_offset + index * ENTITY_DTYPE.itemsize)


_XY = struct.Struct("<2f")


@functools.lru_cache(maxsize=256)
def _entity_types_struct(n: int) -> struct.Struct:
    """Struct reading the ``type`` field of ``n`` consecutive entity records (starting at the first type)."""
    return struct.Struct("<" + "i120x" * (n - 1) + "i")


def parse_state(raw: bytes, game: str | None = None) -> ProcgenState:
    """Parse one state buffer; ``game`` (if given) must match the name stored in it.

    Consumes exactly ``len(raw)`` bytes and checks the trailer; raises
    :class:`StateParseError` (game and byte offset in the message) otherwise.
    """
    raw = bytes(raw)
    n = len(raw)
    unpack_int = _INT.unpack_from
    where = game or "procgen"

    def fail(msg: str, at: int):
        raise StateParseError(
            f"{where} state ({n} bytes) does not parse at byte offset {at}: {msg}. "
            "Only procgen 0.10.7 (procgen-mirror==0.10.7) states of coinrun/heist are supported."
        )

    if n < 8:
        fail("the buffer is too short for a header", 0)
    version = unpack_int(raw, 0)[0]
    if version != SERIALIZE_VERSION:
        fail(f"SERIALIZE_VERSION is {version}, expected {SERIALIZE_VERSION}", 0)
    length = unpack_int(raw, 4)[0]
    if not 0 < length < 64 or 8 + length > n:
        fail(f"game_name claims {length} bytes", 4)
    name = raw[8 : 8 + length].decode("ascii", errors="replace")
    if name not in GAMES:
        fail(f"game_name is {name!r}; supported games: {', '.join(GAMES)}", 4)
    if game is not None and name != game:
        fail(f"the state is of {name!r}, not {game!r}", 4)
    where = name
    off = 8 + length
    values: dict = {}
    starts: dict = {}
    # (what, kind): "block" unpacks a block of scalars, "rand" skips a random generator's text dump
    for what, kind in (("options", "block"), ("level_seed_rand_gen", "rand"), ("rand_gen", "rand"),
                       ("step", "block"), ("entities", "entities"), ("abstract", "block"),
                       ("asset_rand_gen", "rand"), ("view", "block"), (name, "block")):
        starts[what] = off
        if kind == "block":
            st_ = _BLOCKS[what][1]
            if off + st_.size > n:
                fail(f"the {what} block needs {st_.size} bytes but the buffer ends", off)
            values[what] = st_.unpack_from(raw, off)
            off += st_.size
        elif kind == "rand":
            if off + 8 > n:
                fail(f"{what} needs 8 bytes but the buffer ends", off)
            seeded, length = _RANDGEN_HEAD.unpack_from(raw, off)
            if seeded not in (0, 1):
                fail(f"{what}.is_seeded is {seeded}, expected 0 or 1", off)
            if length < 0 or off + 8 + length > n:
                fail(f"{what} claims {length} bytes", off + 4)
            off += 8 + length
        else:
            if off + 4 > n:
                fail("the entity count needs 4 bytes but the buffer ends", off)
            n_ent = unpack_int(raw, off)[0]
            if not 0 < n_ent <= 100_000:
                fail(f"entity count {n_ent} is not plausible", off)
            ent_off = off + 4
            off = ent_off + n_ent * ENTITY_DTYPE.itemsize
            if off > n:
                fail(f"{n_ent} entities need {n_ent * ENTITY_DTYPE.itemsize} bytes but the buffer ends", ent_off)
        if what == "view":
            main_w, main_h, _, *_, w, h, count = values["view"]
            grid_size = values["step"][-1]
            if not (0 < w <= 1024 and 0 < h <= 1024 and count == w * h):
                fail(f"grid is {w}x{h} with {count} cells", off - 12)
            if w != main_w or h != main_h or count != grid_size:
                fail(f"grid {w}x{h} disagrees with main_width/main_height {main_w}x{main_h} or grid_size {grid_size}",
                     off - 12)
            grid_off = off
            off += 4 * count
            if off > n:
                fail(f"{count} grid cells need {4 * count} bytes but the buffer ends", grid_off)
    has_keys: tuple = ()
    if name == "heist":
        k = values["heist"][2]
        if not 0 <= k <= 16 or off + 4 * k > n:
            fail(f"has_keys has {k} entries", off - 4)
        has_keys = tuple(v != 0 for v in struct.unpack_from(f"<{k}i", raw, off))
        starts["has_keys"] = off
        off += 4 * k
    if off + 4 > n:
        fail("the END_OF_BUFFER trailer needs 4 bytes but the buffer ends", off)
    trailer = _UINT.unpack_from(raw, off)[0]
    if trailer != END_OF_BUFFER:
        fail(f"trailer is 0x{trailer:08X}, expected 0x{END_OF_BUFFER:08X}", off)
    off += 4
    if off != n:
        fail(f"{n - off} bytes are left after the trailer", off)
    return ProcgenState(name, raw, values, starts, ent_off, n_ent, grid_off, (h, w), has_keys)


def field_offset(state: ProcgenState, name: str) -> tuple[int, str]:
    """Byte offset and struct code of the named scalar field in ``state.raw``."""
    loc = _FIELD_LOCATIONS.get(name)
    if loc is None or loc[0] not in state.block_offsets:
        raise KeyError(f"{state.game} state has no scalar field {name!r}; fields: {', '.join(sorted(state.fields))}")
    block, rel, code = loc
    return state.block_offsets[block] + rel, code


# --------------------------------------------------------------------------- positions


@dataclass(frozen=True)
class Positions:
    """Agent and goal centres in grid units (y up)."""

    agent_x: float
    agent_y: float
    goal_x: float
    goal_y: float


_COIN_BYTE = bytes([COINRUN_GOAL])


def coin_cell(state: ProcgenState) -> tuple[int, int]:
    """CoinRun: the (x, y) grid cell holding the coin (value 1, exactly one per level)."""
    h, w = state.grid_shape
    start, end = state.grid_offset, state.grid_offset + 4 * h * w
    raw = state.raw
    at = raw.find(_COIN_BYTE, start, end)  # memchr: CoinRun's grid values are 1..100, one byte each
    if at < 0 or (at - start) % 4 or raw.find(_COIN_BYTE, at + 1, end) >= 0:
        count = int((state.grid == COINRUN_GOAL).sum())
        raise StateParseError(f"coinrun state has {count} coin cells (grid value 1); expected exactly one")
    i = (at - start) // 4
    return i % w, i // w


def gem_index(state: ProcgenState) -> int:
    """Heist: index of the gem entity (type 9)."""
    types = state.entity_types
    if types.count(HEIST_GEM) != 1:
        raise StateParseError(f"heist state has {types.count(HEIST_GEM)} gem entities (type 9); expected exactly one")
    return types.index(HEIST_GEM)


def positions(state: ProcgenState) -> Positions:
    """Agent centre and goal centre (CoinRun: coin cell centre; Heist: gem entity centre)."""
    ax, ay = state.entity_xy(state.agent_index)
    if state.game == "coinrun":
        gx, gy = coin_cell(state)
        return Positions(ax, ay, gx + 0.5, gy + 0.5)
    gx, gy = state.entity_xy(gem_index(state))
    return Positions(ax, ay, gx, gy)


def agent_touches_goal(state: ProcgenState) -> bool:
    """Whether the game's own collision test between agent and goal holds in ``state``.

    CoinRun: the coin cell lies in the agent's cell range (``check_grid_collisions``);
    Heist: ``has_collision(gem, agent, gem.collision_margin)``. Evaluated on the state
    after a step, this is exactly when that step earned reward 10.
    """
    a = state.agent
    x, y, rx, ry = (np.float32(a[k]) for k in ("x", "y", "rx", "ry"))
    if state.game == "coinrun":
        gx, gy = coin_cell(state)
        min_x, max_x = int(x - (rx + _POS_EPS)), int(x + (rx + _POS_EPS))
        min_y, max_y = int(y - (ry + _POS_EPS)), int(y + (ry + _POS_EPS))
        return min_x <= gx <= max_x and min_y <= gy <= max_y
    g = state.entities[gem_index(state)]
    margin = np.float32(g["collision_margin"])
    return bool(abs(g["x"] - x) < (g["rx"] + rx) + margin and abs(g["y"] - y) < (g["ry"] + ry) + margin)


def heist_keys(state: ProcgenState) -> list[tuple[int, float, float]]:
    """Heist: keys still lying in the maze as (colour, x, y)."""
    e = state.entities
    idx = np.flatnonzero((e["type"] == HEIST_KEY) & (e["will_erase"] == 0))
    return [(int(e["image_theme"][i]), float(e["x"][i]), float(e["y"][i])) for i in idx]


def heist_doors(state: ProcgenState) -> list[tuple[int, float, float]]:
    """Heist: locked doors still in place as (colour, x, y)."""
    e = state.entities
    idx = np.flatnonzero((e["type"] == HEIST_DOOR) & (e["will_erase"] == 0))
    return [(int(e["image_theme"][i]), float(e["x"][i]), float(e["y"][i])) for i in idx]


# --------------------------------------------------------------------------- distances


def distance_features(agent_x, agent_y, goal_x, goal_y) -> dict[str, np.ndarray]:
    """Thesis 5.7.1's probe targets from agent and goal centres (arrays or scalars, grid units).

    ``dx``/``dy`` are goal minus agent; ``distance_raw`` is uncapped; ``distance``,
    ``distance_sq``, ``inv_distance``, ``inv_distance_sq`` are capped at 18.4, 338.0,
    5.0 and 5.0; ``coin_visible`` is ``distance_raw < 6``. Missing positions (NaN)
    give NaN features and ``coin_visible`` False.
    """
    dx = np.asarray(goal_x, dtype=np.float64) - np.asarray(agent_x, dtype=np.float64)
    dy = np.asarray(goal_y, dtype=np.float64) - np.asarray(agent_y, dtype=np.float64)
    sq = dx * dx + dy * dy
    d = np.sqrt(sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(d > 0, 1.0 / d, np.inf)
        inv_sq = np.where(sq > 0, 1.0 / sq, np.inf)
    inv = np.where(np.isnan(d), np.nan, inv)
    inv_sq = np.where(np.isnan(d), np.nan, inv_sq)
    f32 = np.float32
    return {
        "dx": dx.astype(f32),
        "dy": dy.astype(f32),
        "distance_raw": d.astype(f32),
        "distance": np.minimum(d, DISTANCE_CAP).astype(f32),
        "distance_sq": np.minimum(sq, DISTANCE_SQ_CAP).astype(f32),
        "inv_distance": np.minimum(inv, INV_DISTANCE_CAP).astype(f32),
        "inv_distance_sq": np.minimum(inv_sq, INV_DISTANCE_SQ_CAP).astype(f32),
        "coin_visible": np.asarray(d < COIN_VISIBLE_DISTANCE),
    }


# --------------------------------------------------------------------------- editing


def with_fields(state: ProcgenState, **values) -> bytes:
    """A copy of the buffer with named scalar fields (``state.fields`` keys) replaced."""
    buf = bytearray(state.raw)
    for name, value in values.items():
        off, code = field_offset(state, name)
        struct.pack_into("<" + code, buf, off, value)
    return bytes(buf)


def with_entity_fields(state: ProcgenState, index: int, **values) -> bytes:
    """A copy of the buffer with fields of entity ``index`` (``ENTITY_DTYPE`` names) replaced."""
    if not 0 <= index < len(state.entities):
        raise IndexError(f"{state.game} state has {len(state.entities)} entities; no index {index}")
    buf = bytearray(state.raw)
    rec = np.frombuffer(buf, dtype=ENTITY_DTYPE, count=len(state.entities), offset=state.entities_offset)
    for name, value in values.items():
        if name not in ENTITY_DTYPE.names:
            raise KeyError(f"entities have no field {name!r}; fields: {', '.join(ENTITY_DTYPE.names)}")
        rec[name][index] = value
    return bytes(buf)


def with_grid_cells(state: ProcgenState, cells: Mapping[tuple[int, int], int]) -> bytes:
    """A copy of the buffer with grid cells ``{(x, y): value}`` replaced."""
    buf = bytearray(state.raw)
    h, w = state.grid.shape
    grid = np.frombuffer(buf, dtype="<i4", count=h * w, offset=state.grid_offset).reshape(h, w)
    for (x, y), value in cells.items():
        if not (0 <= x < w and 0 <= y < h):
            raise IndexError(f"{state.game} grid is {w}x{h}; cell ({x}, {y}) is outside it")
        grid[y, x] = value
    return bytes(buf)


def with_inserted_entity(state: ProcgenState, index: int, record: np.void | Mapping) -> bytes:
    """A copy of the buffer with one entity record inserted before position ``index``.

    ``record`` is an ``ENTITY_DTYPE`` record (e.g. a copy of ``state.entities[i]``)
    or a mapping of its fields. The entity count is updated; later offsets shift,
    so re-parse the result before further edits.
    """
    if not 0 <= index <= len(state.entities):
        raise IndexError(f"insert position {index} is outside 0..{len(state.entities)}")
    rec = np.zeros(1, dtype=ENTITY_DTYPE)
    if isinstance(record, Mapping):
        for k, v in record.items():
            rec[k] = v
    else:
        rec[0] = record
    at = state.entities_offset + index * ENTITY_DTYPE.itemsize
    count_off = state.entities_offset - 4
    raw = state.raw
    out = bytearray(raw[:at]) + rec.tobytes() + raw[at:]
    _INT.pack_into(out, count_off, len(state.entities) + 1)
    return bytes(out)
