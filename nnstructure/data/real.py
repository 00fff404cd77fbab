"""Loaders for the real datasets: MNIST, Fashion-MNIST (IDX files) and CIFAR-10 (python tarball).

Each returns ``(x_train, y_train, x_test, y_test)``: images ``uint8`` of shape
``(N, C, H, W)`` and labels ``int64`` of shape ``(N,)``. Missing files are
obtained through :func:`nnstructure.data.sources.ensure_files`.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from nnstructure.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from nnstructure.data.sources import REAL_DATASETS, ensure_files

Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_idx_dataset(key: str, data_dir: str | os.PathLike) -> Splits:
    """MNIST-layout dataset ``key`` ("mnist" or "fashion") from ``data_dir``."""
    ensure_files(key, data_dir)
    folder = Path(data_dir) / REAL_DATASETS[key].folder
    out = []
    for split in ("train", "t10k"):
        images_path = folder / f"{split}-images-idx3-ubyte.gz"
        labels_path = folder / f"{split}-labels-idx1-ubyte.gz"
        images = read_idx(images_path, IMAGES_MAGIC)
        labels = read_idx(labels_path, LABELS_MAGIC)
        if images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path} holds {images.shape[1:]} images, not 28x28; delete it and download it again")
        if len(images) != len(labels):
            raise ValueError(
                f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
                "delete both and download them again"
            )
        if labels.size and labels.max() > 9:
            raise ValueError(f"{labels_path} has label {labels.max()} > 9; delete it and download it again")
        out += [images[:, None], labels.astype(np.int64)]
    return tuple(out)


def load_mnist(data_dir: str | os.PathLike) -> Splits:
    return load_idx_dataset("mnist", data_dir)


def load_fashion(data_dir: str | os.PathLike) -> Splits:
    return load_idx_dataset("fashion", data_dir)


CIFAR_MEMBERS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def load_cifar10(data_dir: str | os.PathLike) -> Splits:
    """CIFAR-10 from ``DATA_DIR/cifar10/cifar-10-python.tar.gz``, read from the tarball without extracting."""
    ensure_files("cifar10", data_dir)
    path = Path(data_dir) / REAL_DATASETS["cifar10"].folder / "cifar-10-python.tar.gz"
    return read_cifar_tarball(path)


def read_cifar_tarball(path: str | os.PathLike) -> Splits:
    fix = f"delete {path} and download it again"
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                stem = Path(member.name).name
                if member.isfile() and stem in CIFAR_MEMBERS["train"] + CIFAR_MEMBERS["test"]:
                    # The tarball's md5 is checked when it is fetched; its pickles hold plain dicts of arrays.
                    batch = pickle.load(tar.extractfile(member), encoding="bytes")
                    data = np.asarray(batch[b"data"], dtype=np.uint8)
                    labels = np.asarray(batch[b"labels"], dtype=np.int64)
                    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
                        raise ValueError(f"batch {stem} has data {data.shape} and {len(labels)} labels")
                    batches[stem] = (data.reshape(-1, 3, 32, 32), labels)
    except (tarfile.TarError, OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable CIFAR-10 python tarball ({exc}); {fix}") from exc
    missing = [m for names in CIFAR_MEMBERS.values() for m in names if m not in batches]
    if missing:
        raise ValueError(f"{path} lacks the batches {missing}; {fix}")
    out = []
    for split in ("train", "test"):
        out.append(np.concatenate([batches[m][0] for m in CIFAR_MEMBERS[split]]))
        out.append(np.concatenate([batches[m][1] for m in CIFAR_MEMBERS[split]]))
    return tuple(out)
