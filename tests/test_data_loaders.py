"""Real-data loaders: IDX parsing and its errors, the CIFAR-10 tarball, the .npz artifact."""

import gzip
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
from conftest import trust_test_data

from nnstructure.data import Dataset, load_dataset, save_dataset
from nnstructure.data.idx import IMAGES_MAGIC, LABELS_MAGIC, IdxError, idx_bytes, read_idx, write_idx_gz
from nnstructure.data.real import load_cifar10, load_mnist, read_cifar_tarball
from nnstructure.io import ArtifactError


def write_fake_mnist(folder, n_train=6, n_test=4):
    """Tiny MNIST-layout IDX files; image i is constant 10 * i, label i % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None] * 10, 28, 1).repeat(28, 2)
        write_idx_gz(idx_bytes(images), folder / f"{split}-images-idx3-ubyte.gz")
        write_idx_gz(idx_bytes((np.arange(n) % 10).astype(np.uint8)), folder / f"{split}-labels-idx1-ubyte.gz")


def test_idx_header_and_values_are_parsed(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = struct.pack(">IIII", 2051, 2, 3, 4) + images.tobytes()
    (tmp_path / "imgs").write_bytes(raw)
    (tmp_path / "imgs.gz").write_bytes(gzip.compress(raw))
    for name in ("imgs", "imgs.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name, IMAGES_MAGIC), images)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    (tmp_path / "labels").write_bytes(struct.pack(">II", 2049, 3) + labels.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "labels", LABELS_MAGIC), labels)


def test_truncated_idx_is_rejected_naming_the_file(tmp_path):
    raw = idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(IdxError, match=r"train-images-idx3-ubyte\.gz.*truncated.*delete"):
        read_idx(path, IMAGES_MAGIC)
    path.write_bytes(raw[:6])
    with pytest.raises(IdxError, match="truncated"):
        read_idx(path, IMAGES_MAGIC)
    # A gzip stream cut short is also caught, not just a short payload.
    noisy = idx_bytes(np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    path.write_bytes(gzip.compress(noisy)[:200])
    with pytest.raises(IdxError, match=r"train-images-idx3-ubyte\.gz.*damaged gzip.*delete"):
        read_idx(path, IMAGES_MAGIC)


def test_wrong_magic_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    # A labels file where an images file belongs.
    write_idx_gz(idx_bytes(np.zeros(4, dtype=np.uint8)), path)
    with pytest.raises(IdxError, match=r"t10k-images-idx3-ubyte\.gz has magic number 2049, not 2051.*delete"):
        read_idx(path, IMAGES_MAGIC)


def test_load_mnist_from_data_dir(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist")
    trust_test_data(monkeypatch, tmp_path)
    x_train, y_train, x_test, y_test = load_mnist(tmp_path)
    assert x_train.shape == (6, 1, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(x_train[:, 0, 5, 5], np.arange(6) * 10)
    np.testing.assert_array_equal(y_test, [0, 1, 2, 3])
    assert y_train.dtype == np.int64


def test_mismatched_image_and_label_counts_are_rejected(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist")
    write_idx_gz(idx_bytes(np.zeros(5, dtype=np.uint8)), tmp_path / "mnist" / "train-labels-idx1-ubyte.gz")
    trust_test_data(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match="6 images but .* 5 labels"):
        load_mnist(tmp_path)


def write_fake_cifar(path, per_batch=3, drop=None):
    """A CIFAR-10 python tarball with tiny batches; image pixels all equal batch*10 + index."""
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for b, name in enumerate(names):
            if name == drop:
                continue
            data = np.repeat((b * 10 + np.arange(per_batch, dtype=np.uint8))[:, None], 3072, axis=1)
            payload = pickle.dumps({b"data": data, b"labels": [(b + i) % 10 for i in range(per_batch)]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_cifar_tarball_is_read_without_extracting(tmp_path, monkeypatch):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    write_fake_cifar(folder / "cifar-10-python.tar.gz")
    trust_test_data(monkeypatch, tmp_path)
    x_train, y_train, x_test, y_test = load_cifar10(tmp_path)
    assert x_train.shape == (15, 3, 32, 32) and x_test.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(x_train[:, 2, 31, 31], [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42])
    np.testing.assert_array_equal(y_test, [5, 6, 7])
    assert y_train.dtype == np.int64
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-python.tar.gz"]


def test_cifar_tarball_missing_a_batch_or_corrupt_is_rejected(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    write_fake_cifar(path, drop="data_batch_3")
    with pytest.raises(ValueError, match=r"cifar-10-python\.tar\.gz lacks the batches \['data_batch_3'\]"):
        read_cifar_tarball(path)
    path.write_bytes(b"not a tarball")
    with pytest.raises(ValueError, match=r"cifar-10-python\.tar\.gz is not a readable CIFAR-10.*delete"):
        read_cifar_tarball(path)


def test_dataset_artifact_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ds = Dataset(
        name="toy",
        x_train=rng.integers(0, 256, (5, 2, 3, 3), dtype=np.uint8),
        y_train=np.arange(5),
        x_test=rng.integers(0, 256, (2, 2, 3, 3), dtype=np.uint8),
        y_test=np.array([1, 0]),
        meta={"seed": 3, "lines_fraction_train": 0.5},
    )
    save_dataset(ds, tmp_path / "ds.npz")
    back = load_dataset(tmp_path / "ds.npz")
    assert (back.name, back.task, back.n_classes, back.meta) == ("toy", "classification", 10, ds.meta)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(back, key), getattr(ds, key))
        assert getattr(back, key).dtype == getattr(ds, key).dtype


def test_corrupt_dataset_artifact_raises_artifact_error(tmp_path):
    path = tmp_path / "ds.npz"
    path.write_bytes(b"garbage, not an npz")
    with pytest.raises(ArtifactError, match=r"ds\.npz is corrupt"):
        load_dataset(path)
    ds = Dataset("toy", np.zeros((50, 1, 4, 4), np.uint8), np.zeros(50, np.int64), np.zeros((5, 1, 4, 4), np.uint8), np.zeros(5, np.int64))
    save_dataset(ds, path)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # truncated: the zip directory is gone
    with pytest.raises(ArtifactError, match="corrupt"):
        load_dataset(path)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF  # a damaged compressed member
    path.write_bytes(bytes(flipped))
    with pytest.raises(ArtifactError, match="corrupt"):
        load_dataset(path)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_dataset(tmp_path / "missing.npz")
