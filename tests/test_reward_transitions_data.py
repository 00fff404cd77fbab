"""A tiny transition dataset in the agreed chapter-5 folder format, written with numpy/pandas only.

Other reward tests import :func:`write_transition_dataset` from here. The
episodes are synthetic but learnable: frames are dim noise; the terminal next
observation of a successful episode has a bright square (the "coin"), and only
that transition earns reward 10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_transition_dataset(root: Path, n_shards: int = 3, episodes_per_shard: int = 4, steps: int = 5,
                             size: int = 16, seed: int = 0, success_rate: float = 0.75, kept_filter: bool = False) -> Path:
    """Write ``root`` (shards/, transitions.parquet, summary.parquet); return it.

    With ``kept_filter`` every other zero-reward transition gets ``kept=False``
    (the Heist filter's column), otherwise every row is kept.
    """
    rng = np.random.default_rng(seed)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    tables = []
    for shard in range(n_shards):
        frames, rows = [], []
        for e in range(episodes_per_shard):
            episode = shard * 1000 + e
            success = rng.random() < success_rate
            first = len(frames)
            for t in range(steps + 1):
                frame = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
                if t == steps and success:
                    c, r = size // 2, max(1, size // 4)
                    frame[c - r:c + r, c - r:c + r] = 255
                frames.append(frame)
            for t in range(steps):
                agent_x, goal_x = float(t), float(steps)
                dist = goal_x - agent_x - 1.0
                rows.append({
                    "episode": episode, "step": t, "shard": shard,
                    "obs_frame": first + t, "next_obs_frame": first + t + 1,
                    "action": int(rng.integers(0, 15)),
                    "reward": np.float32(10.0 if (success and t == steps - 1) else 0.0),
                    "done": t == steps - 1,
                    "agent_x": agent_x, "agent_y": 1.0, "goal_x": goal_x, "goal_y": 1.0,
                    "dx": goal_x - agent_x, "dy": 0.0, "distance": dist, "distance_sq": dist ** 2,
                    "inv_distance": min(1 / max(dist, 1e-9), 5.0), "inv_distance_sq": min(1 / max(dist, 1e-9) ** 2, 5.0),
                    "distance_raw": dist, "coin_visible": dist < 2, "game": "coinrun", "policy": "synthetic", "kept": True,
                })
        table = pd.DataFrame(rows)
        for c in ("agent_x", "agent_y", "goal_x", "goal_y", "dx", "dy", "distance", "distance_sq",
                  "inv_distance", "inv_distance_sq", "distance_raw", "reward"):
            table[c] = table[c].astype(np.float32)
        if kept_filter:
            zero = np.flatnonzero(table["reward"].to_numpy() == 0)
            table.loc[zero[::2], "kept"] = False
        np.savez_compressed(root / "shards" / f"shard-{shard:05d}.npz", frames=np.stack(frames))
        table.to_parquet(root / "shards" / f"shard-{shard:05d}.parquet", index=False)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    episodes = table["episode"].unique()
    test_episodes = set(np.random.default_rng(seed + 1).choice(episodes, size=max(1, len(episodes) // 4), replace=False))
    table["split"] = np.where(table["episode"].isin(test_episodes), "test", "train")
    table.to_parquet(root / "transitions.parquet", index=False)
    kept = table[table["kept"]]
    pd.DataFrame([{
        "game": "coinrun", "episodes": len(episodes), "transitions": len(kept),
        "episodes_rewarded_frac": float((table.groupby("episode")["reward"].max() > 0).mean()),
        "kept_rewarded_frac": float((kept["reward"] > 0).mean()),
        "mean_guess_mse": float(kept["reward"].var(ddof=0)),
        "train_transitions": int((kept["split"] == "train").sum()), "test_transitions": int((kept["split"] == "test").sum()),
    }]).to_parquet(root / "summary.parquet", index=False)
    return root


def test_written_dataset_follows_the_agreed_layout(tmp_path):
    root = write_transition_dataset(tmp_path / "ds")
    table = pd.read_parquet(root / "transitions.parquet")
    assert len(table) == 3 * 4 * 5 and set(table["split"]) == {"train", "test"}
    # every episode is on one side of the split
    assert (table.groupby("episode")["split"].nunique() == 1).all()
    with np.load(root / "shards" / "shard-00001.npz") as z:
        assert z["frames"].shape == (4 * 6, 16, 16, 3) and z["frames"].dtype == np.uint8
    # next_obs of step t is obs of step t+1
    ep = table[table["episode"] == 1000].sort_values("step")
    assert (ep["next_obs_frame"].to_numpy()[:-1] == ep["obs_frame"].to_numpy()[1:]).all()
