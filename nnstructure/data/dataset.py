"""The in-memory dataset every loader and generator returns, and its artifact format."""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstructure.io import ArtifactError, atomic_path

TASKS = ("classification", "regression")


@dataclass
class Dataset:
    """Train and test arrays plus what a model needs to know about them.

    Images are ``uint8`` arrays of shape ``(N, C, H, W)`` (divide by 255 to get
    the network input); non-image inputs are ``float32`` arrays ``(N, D)``.
    Classification targets are ``int64`` class indices ``(N,)``; regression
    targets are ``float32`` ``(N, T)``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    n_classes: int | None = 10
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"dataset task must be one of {TASKS}, got {self.task!r}")
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}: x_{split} has {len(x)} rows but y_{split} has {len(y)}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        return int(self.n_classes) if self.task == "classification" else int(self.y_train.shape[1])

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4


def save_dataset(ds: Dataset, path: str | Path) -> None:
    """Write ``ds`` as a compressed ``.npz`` artifact, atomically."""
    header = {"name": ds.name, "task": ds.task, "n_classes": ds.n_classes, "meta": ds.meta}
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                x_train=ds.x_train,
                y_train=ds.y_train,
                x_test=ds.x_test,
                y_test=ds.y_test,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            )


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset artifact written by :func:`save_dataset`."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"dataset artifact {path} does not exist; build it with `nnstructure dataset`")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ArtifactError(
            f"dataset artifact {path} is corrupt or not a dataset ({exc}); delete it and rebuild it"
        ) from exc
    return Dataset(name=header["name"], task=header["task"], n_classes=header["n_classes"], meta=header["meta"], **arrays)
