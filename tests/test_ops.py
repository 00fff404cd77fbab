"""Operations: file modes under the umask, training resume messages, config checks, evaluate finding its data."""

import contextlib
import gzip
import os
import stat

import numpy as np
import pytest

from nnstructure.io import atomic_path, current_umask, write_json


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_artifacts_get_the_mode_a_new_file_gets_under_the_umask(tmp_path, mask):
    with umask(mask):
        assert current_umask() == mask
        write_json({"a": 1}, tmp_path / "a.json")
        with open(tmp_path / "plain", "w"):
            pass
    assert mode(tmp_path / "a.json") == 0o666 & ~mask == mode(tmp_path / "plain")


def test_failed_atomic_write_still_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), umask(0o022), atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_fetched_dataset_files_are_group_readable(tmp_path, monkeypatch):
    from nnstructure.data import sources
    from nnstructure.data.idx import idx_bytes, md5

    content = idx_bytes(np.arange(4, dtype=np.uint8))
    files = (sources.RealFile("train-labels-idx1-ubyte.gz", md5(content), "https://example.invalid/l.gz"),)
    monkeypatch.setitem(sources.REAL_DATASETS, "mnist", sources.RealDataset("mnist", "mnist", files))

    class Provider:
        name = "test source"

        def provide(self, dataset, wanted, workdir):
            path = workdir / "l.gz"
            path.write_bytes(gzip.compress(content))
            return {"train-labels-idx1-ubyte.gz": path}

    with umask(0o027):
        sources.ensure_files("mnist", tmp_path, sources=[Provider()])
    assert mode(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz") == 0o640
