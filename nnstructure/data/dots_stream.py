"""Dots and distances generated on the fly (thesis 5.9): 9e6 images without memory or disk.

Image ``i`` of split ``split`` for dataset seed ``seed`` is a pure function of
``(seed, split, i)``: its centres are ``centres_at(dots_split_seed(seed, split), [i])``,
the same as row ``i`` of the cached dataset ``make_dataset("dots", seed=seed)``
(which draws all centres of a split in one call from the same generator).
:class:`DotsBatches` is a map-style torch dataset whose item ``b`` is batch
``b`` of an epoch, so a ``torch.utils.data.DataLoader(batch_size=None,
num_workers=k)`` renders batches in ``k`` worker processes in order; an
epoch's order is a seeded permutation of ``range(n)``.

Labels (``task``): ``"regression"`` the mean same-colour distance ``(B, 1)``
float32; ``"classification"`` class 0 when that mean is below the cut-off that
puts 0.93% of images in class 0, else 1 (int64 ``(B,)``);
``"distances"`` the three same-colour distances ``(B, 3)`` float32 (the probe
target of Table 5.10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nnstructure.data.dots import (
    CLASSIFICATION_FRACTION,
    centres_at,
    classification_cutoff,
    dots_class_labels,
    dots_labels,
    pair_distances,
    render_dots,
)
from nnstructure.seeding import derive_seed

TASKS = ("regression", "classification", "distances")
INPUT_SHAPE = (3, 64, 64)


def dots_split_seed(seed: int, split: str) -> int:
    """The generator seed of one split, the same one ``make_dataset("dots", seed=seed)`` uses."""
    return derive_seed("dataset", "dots", seed, split)


def n_outputs(task: str) -> int:
    """Network outputs for ``task``: 1 (regression), 2 (classification), 3 (distances)."""
    return {"regression": 1, "classification": 2, "distances": 3}[check_task(task)]


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"dots task must be one of {TASKS}, got {task!r}")
    return task


def dots_labels_for(centres: np.ndarray, task: str, cutoff: float | None = None) -> np.ndarray:
    """Labels of ``centres`` for ``task`` (see the module docstring)."""
    if check_task(task) == "regression":
        return dots_labels(centres)
    if task == "classification":
        return dots_class_labels(centres, classification_cutoff() if cutoff is None else cutoff)
    return pair_distances(centres).astype(np.float32)


def generate_dots(seed: int, split: str, indices, task: str = "regression",
                  cutoff: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(B, 3, 64, 64)`` uint8 and labels of images ``indices`` of one split."""
    centres = centres_at(dots_split_seed(seed, split), indices)
    return render_dots(centres), dots_labels_for(centres, task, cutoff)


@dataclass
class DotsBatches(torch.utils.data.Dataset):
    """Batches of one epoch of a generated split: ``len(self)`` batches of ``batch_size`` images.

    ``shuffle`` orders the ``n`` images by a permutation seeded with
    ``(order_seed, epoch)``; otherwise batches run through ``0..n-1``. Items are
    ``(x uint8 tensor [B, 3, 64, 64], y tensor)``.
    """

    seed: int
    split: str
    n: int
    batch_size: int
    task: str = "regression"
    shuffle: bool = False
    order_seed: int = 0
    epoch: int = 0
    cutoff: float | None = None

    def __post_init__(self) -> None:
        check_task(self.task)
        if self.n < 1 or self.batch_size < 1:
            raise ValueError(f"dots stream needs n >= 1 and batch_size >= 1, got n={self.n}, batch_size={self.batch_size}")
        if self.task == "classification" and self.cutoff is None:
            self.cutoff = classification_cutoff(CLASSIFICATION_FRACTION)
        self._order = None
        if self.shuffle:
            rng = np.random.default_rng(derive_seed("dots-order", self.order_seed, self.epoch))
            dtype = np.int32 if self.n < 2**31 else np.int64
            self._order = rng.permutation(self.n).astype(dtype)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def indices(self, b: int) -> np.ndarray:
        if not 0 <= b < len(self):
            raise IndexError(f"batch {b} out of range 0..{len(self) - 1}")
        stop = min((b + 1) * self.batch_size, self.n)
        if self._order is None:
            return np.arange(b * self.batch_size, stop)
        return np.asarray(self._order[b * self.batch_size:stop], dtype=np.int64)

    def __getitem__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = generate_dots(self.seed, self.split, self.indices(b), self.task, self.cutoff)
        return torch.from_numpy(x), torch.from_numpy(y)


def dots_loader(seed: int, split: str, n: int, batch_size: int, task: str = "regression", shuffle: bool = False,
                order_seed: int = 0, epoch: int = 0, workers: int = 0, prefetch: int = 4) -> torch.utils.data.DataLoader:
    """A DataLoader over :class:`DotsBatches` rendering in ``workers`` processes (0: in this process)."""
    batches = DotsBatches(seed, split, n, batch_size, task, shuffle, order_seed, epoch)
    kwargs = {"num_workers": int(workers)}
    if workers > 0:
        kwargs.update(prefetch_factor=prefetch, persistent_workers=False)
    return torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, **kwargs)
