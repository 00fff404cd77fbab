"""Transition-dataset files: shards, the merged table, the summary beside the thesis.

A dataset is a folder (format agreed in the chapter-5 interfaces; read by
:mod:`nnstructure.reward.transitions`)::

    shards/shard-NNNNN.npz      frames uint8 [F, 64, 64, 3] (np.savez_compressed, key "frames")
    shards/shard-NNNNN.parquet  one row per transition of that shard (columns: TRANSITION_COLUMNS)
    transitions.parquet         all shard tables + "split" ("train"/"test", by episode)
    summary.parquet             one row of statistics, ours beside the thesis's (thesis_* columns)

Each shard holds whole episodes. Frames are stored once: the observation of
step t+1 is the next observation of step t, and the terminal transition's next
observation is the episode's real last frame (rebuilt, see
:mod:`nnstructure.reward.terminal`). Every transition has a row, including the
zero-reward Heist transitions dropped by the discard filter: those have
``kept`` False and no frames (``obs_frame`` = ``next_obs_frame`` = -1), so the
table keeps the statistics before filtering and every episode's full action
sequence (episodes are replayable from ``level_seed``); readers skip them.

Positions (``agent_x``, ``agent_y``, ``goal_x``, ``goal_y``) and the distance
columns describe the state shown in the NEXT observation (the one the reward
is decided on, as the original code's probes used ``next_infos``);
``obs_agent_x``/``obs_agent_y`` give the agent in the observation.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.io import ArtifactError, atomic_path, read_parquet, write_parquet
from nnstructure.seeding import derive_seed

SHARDS_DIR = "shards"
TABLE_FILE = "transitions.parquet"
SUMMARY_FILE = "summary.parquet"
TEST_FRACTION = 0.1

TRANSITION_COLUMNS = {
    "episode": "int64", "step": "int32", "shard": "int32", "obs_frame": "int32", "next_obs_frame": "int32",
    "action": "int64", "reward": "float32", "done": "bool",
    "agent_x": "float32", "agent_y": "float32", "goal_x": "float32", "goal_y": "float32",
    "obs_agent_x": "float32", "obs_agent_y": "float32",
    "dx": "float32", "dy": "float32", "distance_raw": "float32", "distance": "float32", "distance_sq": "float32",
    "inv_distance": "float32", "inv_distance_sq": "float32", "coin_visible": "bool",
    "random_action": "bool", "kept": "bool", "level_seed": "int64",
    "game": "object", "distribution_mode": "object", "policy": "object",
}

# Thesis section 5.3 (dataset statistics). NaN: not stated in the thesis.
THESIS_DATASETS = {
    "coinrun": {
        "episodes": 9925, "transitions": 1_000_192, "episodes_rewarded_frac": 0.936,
        "transitions_rewarded_frac": 0.0093, "kept_transitions": 1_000_192, "kept_rewarded_frac": 0.0093,
        "mean_guess_mse": 0.92, "train_transitions": 900_173, "test_transitions": 100_019,
    },
    "heist": {
        "episodes": 3007, "transitions": 2_622_147, "episodes_rewarded_frac": 0.203,
        "transitions_rewarded_frac": np.nan, "kept_transitions": 131_775, "kept_rewarded_frac": 0.0046,
        "mean_guess_mse": 0.4, "train_transitions": 118_598, "test_transitions": 13_177,
    },
}
_REBUILD = "rerun that shard's job (`nnstructure transitions ... --shard I`)"


def shard_name(shard: int) -> str:
    return f"shard-{int(shard):05d}"


def shard_paths(dataset_dir: str | os.PathLike, shard: int) -> tuple[Path, Path]:
    """(frames .npz, table .parquet) of one shard."""
    base = Path(dataset_dir) / SHARDS_DIR / shard_name(shard)
    return base.with_suffix(".npz"), base.with_suffix(".parquet")


def write_shard(dataset_dir: str | os.PathLike, shard: int, frames: np.ndarray, table: pd.DataFrame) -> None:
    """Write one shard atomically: frames first, the table last (its presence marks a finished shard)."""
    frames = np.ascontiguousarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [F, H, W, 3], got {frames.dtype} {frames.shape}")
    table = conform_table(table)
    refs = table.loc[table["kept"], ["obs_frame", "next_obs_frame"]].to_numpy()
    if len(refs) and (refs.min() < 0 or refs.max() != len(frames) - 1):
        raise ValueError(f"the table refers to frames {refs.min()}..{refs.max()} but {len(frames)} frames are given")
    npz, parquet = shard_paths(dataset_dir, shard)
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, frames=frames)
    write_parquet(table, parquet)


def conform_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with exactly TRANSITION_COLUMNS (in order, with their dtypes)."""
    missing = [c for c in TRANSITION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"transition table lacks columns {missing}")
    return table[list(TRANSITION_COLUMNS)].astype(TRANSITION_COLUMNS).reset_index(drop=True)


def frames_count(npz_path: Path) -> int:
    """Number of frames in a shard's .npz, read from the array header (no decompression of the data)."""
    try:
        with zipfile.ZipFile(npz_path) as zf:
            with zf.open("frames.npy") as fh:
                version = np.lib.format.read_magic(fh)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(fh)
    except FileNotFoundError as exc:
        raise ArtifactError(f"transition shard {npz_path} is missing; {_REBUILD}") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise ArtifactError(
            f"transition shard {npz_path} is truncated or corrupt ({type(exc).__name__}: {exc}); delete it and {_REBUILD}"
        ) from exc
    if dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3:
        raise ArtifactError(f"transition shard {npz_path} holds {dtype} {shape}, expected uint8 [F, H, W, 3]; {_REBUILD}")
    return int(shape[0])


def read_shard_table(dataset_dir: str | os.PathLike, shard: int, check_frames: bool = True) -> pd.DataFrame:
    """One shard's table, checked against its frames file (a truncated shard is refused)."""
    npz, parquet = shard_paths(dataset_dir, shard)
    if not parquet.exists():
        raise ArtifactError(f"transition shard table {parquet} is missing (the shard's job has not finished); {_REBUILD}")
    table = read_parquet(parquet)
    missing = [c for c in TRANSITION_COLUMNS if c not in table.columns]
    if missing:
        raise ArtifactError(f"transition shard table {parquet} lacks columns {missing}; {_REBUILD}")
    if check_frames:
        n = frames_count(npz)
        kept = table["kept"].to_numpy()
        top = int(table.loc[kept, "next_obs_frame"].max()) if kept.any() else -1
        if top + 1 != n:
            raise ArtifactError(
                f"transition shard {npz} holds {n} frames but {parquet} uses {top + 1}; "
                f"the two files are from different runs or one is truncated; delete both and {_REBUILD}"
            )
    return table


def find_shards(dataset_dir: str | os.PathLike) -> list[int]:
    folder = Path(dataset_dir) / SHARDS_DIR
    if not folder.is_dir():
        raise ArtifactError(f"{folder} does not exist: generate shards first (`nnstructure transitions --out {dataset_dir} --shard I`)")
    return sorted(int(p.stem.split("-")[1]) for p in folder.glob("shard-*.parquet"))


def split_episodes(episodes: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean "is test" per unique episode id (sorted), ``round(test_fraction * n)`` of them, seeded."""
    episodes = np.unique(episodes)
    n_test = int(round(test_fraction * len(episodes)))
    rng = np.random.default_rng(derive_seed("transitions-split", seed))
    test = np.zeros(len(episodes), dtype=bool)
    test[rng.choice(len(episodes), size=n_test, replace=False)] = True
    return test


def merge_dataset(dataset_dir: str | os.PathLike, *, expect_shards: int | None = None, test_fraction: float = TEST_FRACTION,
                  split_seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate all shard tables into ``transitions.parquet`` (+ split) and write ``summary.parquet``.

    With ``expect_shards`` the shards must be exactly 0..expect_shards-1. Every
    shard must describe the same game, distribution mode and policy.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction {test_fraction} must be in (0, 1)")
    shards = find_shards(dataset_dir)
    if expect_shards is not None:
        missing = sorted(set(range(expect_shards)) - set(shards))
        if missing:
            raise ArtifactError(f"{dataset_dir}: shards {missing[:10]} of 0..{expect_shards - 1} are missing; generate them first")
        shards = [s for s in shards if s < expect_shards]
    if not shards:
        raise ArtifactError(f"{dataset_dir}/{SHARDS_DIR} holds no shard tables; generate shards first")
    table = pd.concat([read_shard_table(dataset_dir, s) for s in shards], ignore_index=True)
    for col in ("game", "distribution_mode", "policy"):
        values = table[col].unique()
        if len(values) != 1:
            raise ArtifactError(f"{dataset_dir}: shards disagree on {col} ({', '.join(map(str, values))}); one dataset per setting")
    if table.duplicated(["episode", "step"]).any():
        raise ArtifactError(f"{dataset_dir}: some (episode, step) pairs appear twice; shards from different runs are mixed")
    unique = np.unique(table["episode"].to_numpy())
    is_test = split_episodes(unique, test_fraction, split_seed)
    test_ids = unique[is_test]
    table["split"] = np.where(np.isin(table["episode"].to_numpy(), test_ids), "test", "train")
    summary = dataset_summary(table, test_fraction=test_fraction, split_seed=split_seed)
    write_parquet(table, Path(dataset_dir) / TABLE_FILE)
    write_parquet(summary, Path(dataset_dir) / SUMMARY_FILE)
    return table, summary


def dataset_summary(table: pd.DataFrame, **extra) -> pd.DataFrame:
    """One row of dataset statistics with the thesis's values beside them (``thesis_<name>``)."""
    rewarded = table["reward"].to_numpy() > 0
    kept = table["kept"].to_numpy()
    per_episode = table.groupby("episode")["reward"].max() > 0
    kept_reward = table["reward"].to_numpy()[kept].astype(np.float64)
    split = table["split"].to_numpy() if "split" in table else np.full(len(table), "train")
    game = str(table["game"].iloc[0])
    row = {
        "game": game,
        "distribution_mode": str(table["distribution_mode"].iloc[0]),
        "policy": str(table["policy"].iloc[0]),
        "shards": int(table["shard"].nunique()),
        "episodes": int(len(per_episode)),
        "transitions": int(len(table)),
        "mean_episode_length": float(table.groupby("episode").size().mean()),
        "episodes_rewarded_frac": float(per_episode.mean()),
        "transitions_rewarded_frac": float(rewarded.mean()),
        "random_action_frac": float(table["random_action"].mean()),
        "kept_transitions": int(kept.sum()),
        "kept_rewarded_frac": float(rewarded[kept].mean()) if kept.any() else np.nan,
        "mean_guess_mse": float(kept_reward.var()) if kept.any() else np.nan,
        "train_transitions": int((kept & (split == "train")).sum()),
        "test_transitions": int((kept & (split == "test")).sum()),
        "coin_visible_frac": float(table.loc[kept, "coin_visible"].mean()) if kept.any() else np.nan,
        **extra,
    }
    for name, value in THESIS_DATASETS.get(game, {}).items():
        row[f"thesis_{name}"] = value
    return pd.DataFrame([row])
