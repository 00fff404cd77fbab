"""TransitionDataset: streaming one shard at a time, seeded order, columns, where, random access, damaged shards."""

import numpy as np
import pandas as pd
import pytest
import torch

from nnstructure.io import ArtifactError
from nnstructure.reward.transitions import TransitionDataset, load_transitions
from test_reward_transitions_data import write_transition_dataset


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return write_transition_dataset(tmp_path_factory.mktemp("transitions") / "ds")


def _frames(root, shard):
    with np.load(root / "shards" / f"shard-{shard:05d}.npz") as z:
        return z["frames"]


def test_batches_cover_the_split_once_with_the_right_frames(dataset_dir):
    ds = TransitionDataset(dataset_dir)
    table = pd.read_parquet(dataset_dir / "transitions.parquet")
    n_train = int((table["split"] == "train").sum())
    assert ds.n("train") == n_train and ds.n("test") == len(table) - n_train and ds.n() == len(table)
    batches = list(ds.batches("train", 7, shuffle=True, seed=3, columns=("row", "distance", "coin_visible")))
    # batches span shards: all full but the last
    assert [len(b["action"]) for b in batches] == [7] * (n_train // 7) + ([n_train % 7] if n_train % 7 else [])
    rows = torch.cat([b["row"] for b in batches]).numpy()
    assert sorted(rows) == sorted(np.flatnonzero(table["split"] == "train"))
    b = batches[1]
    assert b["obs"].dtype == torch.uint8 and b["obs"].shape == (7, 3, 16, 16)
    assert b["action"].dtype == torch.int64 and b["reward"].dtype == torch.float32
    assert b["distance"].dtype == torch.float32 and b["coin_visible"].dtype == torch.bool
    for j, row in enumerate(b["row"].tolist()):
        r = table.iloc[row]
        frames = _frames(dataset_dir, r["shard"])
        assert torch.equal(b["obs"][j], torch.from_numpy(frames[r["obs_frame"]]).permute(2, 0, 1))
        assert torch.equal(b["next_obs"][j], torch.from_numpy(frames[r["next_obs_frame"]]).permute(2, 0, 1))
        assert b["action"][j] == r["action"] and b["reward"][j] == r["reward"] and b["distance"][j] == r["distance"]


def test_order_is_seeded_shardwise_and_unshuffled_is_table_order(dataset_dir):
    ds = TransitionDataset(dataset_dir)

    def order(**kw):
        return torch.cat([b["row"] for b in ds.batches("train", 5, columns=("row",), **kw)]).numpy()

    assert np.array_equal(order(shuffle=True, seed=1), order(shuffle=True, seed=1))
    assert not np.array_equal(order(shuffle=True, seed=1), order(shuffle=True, seed=2))
    assert np.array_equal(order(shuffle=False), ds.rows("train"))
    # one shard at a time: the shard sequence of a shuffled epoch changes value at most n_shards - 1 times
    shard = ds.column("shard")[order(shuffle=True, seed=4)]
    assert (np.diff(shard) != 0).sum() == 2


def test_where_mask_and_kept_column_filter_rows(tmp_path, dataset_dir):
    ds = TransitionDataset(dataset_dir)
    visible = ds.column("coin_visible")
    got = torch.cat([b["row"] for b in ds.batches(None, 4, shuffle=False, columns=("row",), where="coin_visible")]).numpy()
    assert np.array_equal(got, np.flatnonzero(visible))
    assert ds.n("test", where=visible) == int((visible & (ds.column("split") == "test")).sum())
    with pytest.raises(ValueError, match="boolean mask"):
        ds.n(where=np.ones(3, dtype=bool))
    filtered = TransitionDataset(write_transition_dataset(tmp_path / "heist", kept_filter=True))
    kept = filtered.column("kept")
    assert filtered.n() == int(kept.sum()) < len(kept)
    assert filtered.load(filtered.rows())["reward"].numpy().tolist() == filtered.column("reward")[kept].tolist()


def test_load_transitions_random_access_in_request_order(dataset_dir):
    ds = TransitionDataset(dataset_dir)
    test_rows = ds.rows("test")
    got = load_transitions(dataset_dir, "test", [3, 0, -1], columns=("episode",))
    assert got["row"].tolist() == [test_rows[3], test_rows[0], test_rows[-1]]
    table = ds.table
    assert got["episode"].tolist() == table.loc[got["row"].numpy(), "episode"].tolist()
    frames = _frames(dataset_dir, int(table.loc[test_rows[-1], "shard"]))
    assert torch.equal(got["next_obs"][2], torch.from_numpy(frames[table.loc[test_rows[-1], "next_obs_frame"]]).permute(2, 0, 1))
    with pytest.raises(IndexError, match="has"):
        load_transitions(dataset_dir, "test", [len(test_rows)])
    with pytest.raises(KeyError, match="no column 'nope'"):
        ds.load([0], columns=("nope",))


def test_truncated_or_missing_shard_is_refused_with_the_file_named(tmp_path):
    root = write_transition_dataset(tmp_path / "ds")
    shard = root / "shards" / "shard-00001.npz"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    ds = TransitionDataset(root)
    with pytest.raises(ArtifactError, match=r"shard-00001\.npz is truncated or corrupt.*rerun"):
        list(ds.batches("train", 8, shuffle=False))
    shard.unlink()
    with pytest.raises(ArtifactError, match=r"shard-00001\.npz is missing"):
        list(ds.batches("train", 8, shuffle=False))
    with pytest.raises(ArtifactError, match="no transitions.parquet"):
        TransitionDataset(tmp_path)


def test_table_pointing_past_a_shards_frames_is_refused(tmp_path):
    root = write_transition_dataset(tmp_path / "ds", n_shards=1)
    np.savez_compressed(root / "shards" / "shard-00000.npz", frames=_frames(root, 0)[:5])
    with pytest.raises(ArtifactError, match="holds 5 frames"):
        list(TransitionDataset(root).batches(None, 64, shuffle=False))
