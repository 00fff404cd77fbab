"""Reading a procgen transition dataset folder one shard at a time.

The folder layout (written by ch5's rollout jobs; agreed in the chapter-5 interfaces)::

    <dataset>/shards/shard-NNNNN.npz       frames: uint8 [F, 64, 64, 3], every frame stored once
    <dataset>/shards/shard-NNNNN.parquet   one row per transition of that shard
    <dataset>/transitions.parquet          all shard tables plus "split" ("train"/"test", by episode)
    <dataset>/summary.parquet              one row of dataset statistics

A transition's observation is ``frames[obs_frame]`` and its next observation
``frames[next_obs_frame]`` of shard ``shard`` (with ``terminal_frame="repeat"``,
``frames[obs_frame]`` again on the steps that end an episode:
:mod:`nnstructure.reward.terminal_frames`). Rows whose ``kept`` column is
False (Heist zero-reward transitions discarded by the 95% filter) are skipped
by every reader here; a table without a ``kept`` column keeps every row.

Row positions: "row" always means the position of a transition in
``transitions.parquet`` (``TransitionDataset.table`` has a RangeIndex equal to it).

:meth:`TransitionDataset.batches` streams batches for training and evaluation:
shards are visited in a seeded order and shuffled within, one shard's frames in
memory at a time (plus fewer than one batch carried over to the next shard), so
a million-transition dataset never has to fit in memory.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from nnstructure.device import release_freed_heap
from nnstructure.io import ArtifactError
from nnstructure.reward.terminal_frames import AS_STORED, check_terminal_frame, next_obs_frames

SHARDS_DIR = "shards"
TABLE_FILE = "transitions.parquet"
SUMMARY_FILE = "summary.parquet"
SPLITS = ("train", "test")
# Table columns every batch is built from.
_INDEX_COLUMNS = ("shard", "obs_frame", "next_obs_frame", "action", "reward")
_REBUILD_HINT = "rerun the transition-dataset jobs that make it (`nnstructure transitions ...`, or the workflow)"


def shard_frames_path(dataset_dir: str | os.PathLike, shard: int) -> Path:
    """``<dataset>/shards/shard-NNNNN.npz``: the frames of shard ``shard``."""
    return Path(dataset_dir) / SHARDS_DIR / f"shard-{int(shard):05d}.npz"


def read_shard_frames(path: str | os.PathLike) -> np.ndarray:
    """A shard's ``frames`` array (uint8 [F, H, W, 3]); ArtifactError naming the file if it is missing or damaged."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"transition shard {path} is missing; {_REBUILD_HINT}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            frames = archive["frames"]
    except Exception as exc:  # zipfile, zlib, numpy and OS errors all mean the same here
        raise ArtifactError(
            f"transition shard {path} is truncated or corrupt ({type(exc).__name__}: {exc}); "
            f"delete it and {_REBUILD_HINT}"
        ) from exc
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ArtifactError(
            f"transition shard {path} holds frames of dtype {frames.dtype} and shape {frames.shape}, expected uint8 "
            f"[F, H, W, 3]; delete it and {_REBUILD_HINT}"
        )
    return frames


class TransitionDataset:
    """A transition dataset folder (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, terminal_frame: str = AS_STORED):
        self.path = Path(path)
        #: Which next observation the terminal transitions have (:mod:`nnstructure.reward.terminal_frames`).
        self.terminal_frame = check_terminal_frame(terminal_frame)
        if not self.path.is_dir():
            raise ArtifactError(f"transition dataset folder {self.path} does not exist; {_REBUILD_HINT}")
        self.table_path = self.path / TABLE_FILE
        if not self.table_path.exists():
            raise ArtifactError(
                f"transition dataset {self.path} has no {TABLE_FILE} (its merge job has not run); {_REBUILD_HINT}"
            )
        self.name = self.path.name
        self._columns: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        extra = "" if self.terminal_frame == AS_STORED else f", terminal_frame={self.terminal_frame!r}"
        return f"TransitionDataset({str(self.path)!r}{extra})"

    def training_data(self, device):
        """The training loop's view of every transition (:class:`~nnstructure.reward.training_data.StreamedTransitions`)."""
        from nnstructure.reward.training_data import StreamedTransitions

        return StreamedTransitions(self, device)

    # --- tables -----------------------------------------------------------------

    @cached_property
    def table(self):
        """``transitions.parquet`` as a DataFrame (RangeIndex = row positions)."""
        from nnstructure.io import read_parquet

        return read_parquet(self.table_path).reset_index(drop=True)

    @cached_property
    def summary(self):
        """``summary.parquet`` (one row of dataset statistics) as a DataFrame."""
        from nnstructure.io import read_parquet

        path = self.path / SUMMARY_FILE
        if not path.exists():
            raise ArtifactError(f"transition dataset {self.path} has no {SUMMARY_FILE}; {_REBUILD_HINT}")
        return read_parquet(path)

    @cached_property
    def _schema_names(self) -> list[str]:
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(self.table_path).names)
        except Exception as exc:
            raise ArtifactError(f"cannot read {self.table_path} ({exc}); delete it and {_REBUILD_HINT}") from exc

    def column(self, name: str) -> np.ndarray:
        """One column of ``transitions.parquet`` as a numpy array (read once, then cached).

        String columns compare cheaply as arrays of Python strings; numeric and bool
        columns keep their dtype.
        """
        if name == "row":
            return np.arange(self.n_rows, dtype=np.int64)
        if name not in self._columns:
            if name not in self._schema_names:
                raise KeyError(
                    f"transition dataset {self.path} has no column {name!r}; available: {', '.join(self._schema_names)}"
                )
            if "table" in self.__dict__:
                values = self.table[name].to_numpy()
            else:
                import pyarrow.parquet as pq

                try:
                    values = pq.read_table(self.table_path, columns=[name]).column(name).to_numpy()
                except Exception as exc:
                    raise ArtifactError(f"cannot read column {name!r} of {self.table_path} ({exc}); delete it and {_REBUILD_HINT}") from exc
            self._columns[name] = values
        return self._columns[name]

    @cached_property
    def n_rows(self) -> int:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(self.table_path).metadata.num_rows)

    def mask(self, split: str | None = None, where=None) -> np.ndarray:
        """Boolean mask over the table rows: kept rows of ``split`` (None: both) satisfying ``where``.

        ``where`` is a boolean array/Series over the table rows, or the name of a
        boolean column (e.g. ``"coin_visible"``).
        """
        keep = np.ones(self.n_rows, dtype=bool)
        if "kept" in self._schema_names:
            keep &= self.column("kept").astype(bool)
        if split is not None:
            if split not in SPLITS:
                raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
            keep &= self.column("split") == split
        if where is not None:
            w = self.column(where) if isinstance(where, str) else np.asarray(where)
            if w.dtype != bool or w.shape != (self.n_rows,):
                raise ValueError(
                    f"where must be a boolean mask over the {self.n_rows} table rows or a boolean column name; "
                    f"got dtype {w.dtype}, shape {w.shape}"
                )
            keep &= w
        return keep

    def rows(self, split: str | None = None, where=None) -> np.ndarray:
        """Row positions (ascending) of the kept transitions of ``split`` satisfying ``where``."""
        return np.flatnonzero(self.mask(split, where))

    def n(self, split: str | None = None, where=None) -> int:
        """Number of kept transitions in ``split`` (None: both) satisfying ``where``."""
        return int(self.mask(split, where).sum())

    # --- frames -----------------------------------------------------------------

    @cached_property
    def frame_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one frame, read from the first shard's array header only."""
        import zipfile

        shards = np.unique(self.column("shard"))
        if not len(shards):
            raise ArtifactError(f"transition dataset {self.path} has no transitions; {_REBUILD_HINT}")
        path = shard_frames_path(self.path, int(shards[0]))
        if not path.exists():
            raise ArtifactError(f"transition shard {path} is missing; {_REBUILD_HINT}")
        try:
            with zipfile.ZipFile(path) as archive, archive.open("frames.npy") as member:
                version = np.lib.format.read_magic(member)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(member)
        except Exception as exc:
            raise ArtifactError(
                f"transition shard {path} is truncated or corrupt ({type(exc).__name__}: {exc}); delete it and {_REBUILD_HINT}"
            ) from exc
        if dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3:
            raise ArtifactError(f"transition shard {path} holds frames of dtype {dtype} and shape {shape}, expected uint8 [F, H, W, 3]")
        return (3, int(shape[1]), int(shape[2]))

    def shard_frames(self, shard: int) -> torch.Tensor:
        """Shard ``shard``'s frames as a uint8 tensor [F, 3, H, W] (channels first, as the networks take them)."""
        frames = read_shard_frames(shard_frames_path(self.path, shard))
        return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()

    @cached_property
    def next_obs_frames(self) -> np.ndarray:
        """Every row's next-observation frame index under :attr:`terminal_frame` (``repeat``: the observation's on
        terminal rows; see :mod:`nnstructure.reward.terminal_frames`)."""
        if self.terminal_frame == AS_STORED:  # no need to read the obs_frame and done columns
            return self.column("next_obs_frame")
        return next_obs_frames(self.column("obs_frame"), self.column("next_obs_frame"), self.column("done"),
                               self.terminal_frame)

    def _gather(self, frames: torch.Tensor, shard: int, rows: np.ndarray, columns: Sequence[str]) -> dict:
        obs_idx = self.column("obs_frame")[rows].astype(np.int64)
        next_idx = self.next_obs_frames[rows].astype(np.int64)
        top = int(max(obs_idx.max(initial=-1), next_idx.max(initial=-1)))
        frameless = (obs_idx < 0) | (next_idx < 0)
        if frameless.any() and "kept" in self._schema_names and not self.column("kept")[rows[frameless]].any():
            # the dataset's zero-reward discard keeps a dropped row, not its frames
            raise ValueError(
                f"{int(frameless.sum())} of the requested rows of {self.table_path} (first: row position "
                f"{int(rows[frameless][0])}) have no frames: the dataset's zero-reward discard dropped them (kept = False); "
                f"choose rows from {type(self).__name__}.mask(...) or rows(...), which hold only kept transitions"
            )
        if top >= len(frames) or frameless.any():
            raise ArtifactError(
                f"{self.table_path} refers to frame {top} of shard {shard}, but "
                f"{shard_frames_path(self.path, shard)} holds {len(frames)} frames (truncated or from another run); "
                f"delete the dataset folder and {_REBUILD_HINT}"
            )
        batch = {
            "obs": frames[torch.from_numpy(obs_idx)],
            "next_obs": frames[torch.from_numpy(next_idx)],
            "action": torch.from_numpy(self.column("action")[rows].astype(np.int64)),
            "reward": torch.from_numpy(self.column("reward")[rows].astype(np.float32)),
        }
        for name in columns:
            if name not in batch:
                batch[name] = _column_tensor(name, self.column(name)[rows])
        return batch

    def _check_columns(self, columns: Sequence[str]) -> tuple[str, ...]:
        columns = tuple(columns)
        for name in _INDEX_COLUMNS + columns:
            self.column(name)  # raises naming the missing column
        return columns

    def batches(self, split: str | None, batch_size: int, shuffle: bool = True, seed: int = 0,
                columns: Sequence[str] = (), where=None) -> Iterator[dict]:
        """Batches ``{"obs", "next_obs": uint8 [B, 3, H, W], "action": int64 [B], "reward": float32 [B], <columns>}``.

        One shard's frames are loaded at a time. With ``shuffle`` the shards are
        visited in an order drawn from ``seed`` and each shard's transitions are
        permuted (also from ``seed``); without it, table order. Batches span shard
        boundaries, so all but the last have exactly ``batch_size`` transitions
        (``ceil(n / batch_size)`` batches). ``columns`` adds table columns as
        tensors (``"row"``: the row position in ``transitions.parquet``).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        columns = self._check_columns(columns)
        rows = self.rows(split, where)
        shard_of = self.column("shard")[rows].astype(np.int64)
        order = np.argsort(shard_of, kind="stable")
        shards, starts = np.unique(shard_of[order], return_index=True)
        groups = np.split(rows[order], starts[1:]) if len(rows) else []
        rng = np.random.default_rng(seed)
        visit = rng.permutation(len(shards)) if shuffle else np.arange(len(shards))
        pending: list[dict] = []
        pending_n = 0
        for k in visit:
            shard, shard_rows = int(shards[k]), groups[k]
            if shuffle:
                shard_rows = shard_rows[rng.permutation(len(shard_rows))]
            frames = self.shard_frames(shard)
            i = 0
            while i < len(shard_rows):
                take = min(batch_size - pending_n, len(shard_rows) - i)
                pending.append(self._gather(frames, shard, shard_rows[i:i + take], columns))
                pending_n += take
                i += take
                if pending_n == batch_size:
                    yield _concat(pending)
                    pending, pending_n = [], 0
            del frames
            release_freed_heap()  # what the shard's activations left in the heap (nnstructure.device)
        if pending_n:
            yield _concat(pending)

    def load(self, rows: Sequence[int], columns: Sequence[str] = ()) -> dict:
        """The transitions at table row positions ``rows`` (in that order), as one batch dict with "row"."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_rows):
            raise IndexError(f"row positions must be in 0..{self.n_rows - 1}, got {rows.min()}..{rows.max()}")
        columns = self._check_columns(tuple(columns) + ("row",))
        shard_of = self.column("shard")[rows].astype(np.int64)
        parts, where_parts = [], []
        for shard in np.unique(shard_of):
            sel = np.flatnonzero(shard_of == shard)
            parts.append(self._gather(self.shard_frames(int(shard)), int(shard), rows[sel], columns))
            where_parts.append(sel)
        if not parts:
            raise ValueError("load needs at least one row position")
        batch = _concat(parts)
        inverse = torch.from_numpy(np.argsort(np.concatenate(where_parts), kind="stable"))
        return {k: (v[inverse] if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def load_transitions(path: str | os.PathLike | TransitionDataset, split: str | None, indices: Sequence[int],
                     columns: Sequence[str] = ()) -> dict:
    """Small random access: transitions ``indices`` of ``split``, as one batch dict.

    ``indices`` index the kept rows of ``split`` in table order (``[0, 1]``: the
    split's first two transitions); with ``split=None`` they index all kept rows.
    The result has the keys of :meth:`TransitionDataset.batches` plus ``"row"``
    (position in ``transitions.parquet``).
    """
    dataset = path if isinstance(path, TransitionDataset) else TransitionDataset(path)
    split_rows = dataset.rows(split)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) and (indices.min() < -len(split_rows) or indices.max() >= len(split_rows)):
        raise IndexError(f"split {split!r} of {dataset.path} has {len(split_rows)} transitions; got indices {indices.min()}..{indices.max()}")
    return dataset.load(split_rows[indices], columns)


def _column_tensor(name: str, values: np.ndarray) -> torch.Tensor:
    if values.dtype == bool:
        return torch.from_numpy(values.copy())
    if np.issubdtype(values.dtype, np.integer):
        return torch.from_numpy(values.astype(np.int64))
    if np.issubdtype(values.dtype, np.floating):
        return torch.from_numpy(values.astype(np.float32))
    raise ValueError(f"column {name!r} holds {values.dtype} values, which cannot be a tensor; request numeric or boolean columns")


def _concat(parts: list[dict]) -> dict:
    if len(parts) == 1:
        return parts[0]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
