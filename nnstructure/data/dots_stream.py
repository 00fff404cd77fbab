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

**Common-class discard** (classification, ``class_discard`` = d > 0). Class 0 is
rare (0.93%, as CoinRun's rewards), so an epoch over every image is mostly spent
on class 1. As CoinRun's zero-reward discard (:mod:`nnstructure.reward.training_data`),
each epoch then keeps every class-0 image of the ``n_train`` and a fresh, seeded
share 1 - d of the class-1 ones, and a kept class-1 image weighs 1 / (1 - d) in
the loss, which keeps the batch loss an unbiased estimate of the cross-entropy
over all ``n_train`` images. Labels come from the centres alone, so only the kept
images are rendered. The test loss is always on the whole test split.
``weighting_from_epoch`` k > 1 trains the first k - 1 epochs unweighted (class 0,
about a sixth of a discarded epoch, then dominates the gradient) and weights from
epoch k on, which recalibrates the net to the real base rate (as the reward nets'
setting of that name).
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
    rows: np.ndarray | None = None  # the split's image indices to visit (None: 0..n-1); then n == len(rows)

    def __post_init__(self) -> None:
        check_task(self.task)
        if self.n < 1 or self.batch_size < 1:
            raise ValueError(f"dots stream needs n >= 1 and batch_size >= 1, got n={self.n}, batch_size={self.batch_size}")
        if self.rows is not None and len(self.rows) != self.n:
            raise ValueError(f"dots stream: n={self.n} but {len(self.rows)} rows given")
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
            positions = np.arange(b * self.batch_size, stop)
        else:
            positions = np.asarray(self._order[b * self.batch_size:stop], dtype=np.int64)
        if self.rows is None:
            return positions
        return np.sort(np.asarray(self.rows, dtype=np.int64)[positions])  # sorted: contiguous runs are drawn at once

    def __getitem__(self, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = generate_dots(self.seed, self.split, self.indices(b), self.task, self.cutoff)
        return torch.from_numpy(x), torch.from_numpy(y)


def dots_loader(seed: int, split: str, n: int, batch_size: int, task: str = "regression", shuffle: bool = False,
                order_seed: int = 0, epoch: int = 0, workers: int = 0, prefetch: int = 4, cutoff: float | None = None,
                rows: np.ndarray | None = None) -> torch.utils.data.DataLoader:
    """A DataLoader over :class:`DotsBatches` rendering in ``workers`` processes (0: in this process)."""
    batches = DotsBatches(seed, split, n, batch_size, task, shuffle, order_seed, epoch, cutoff, rows)
    kwargs = {"num_workers": int(workers)}
    if workers > 0:
        kwargs.update(prefetch_factor=prefetch, persistent_workers=False)
    return torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, **kwargs)


class DotsTrainingData:
    """Dots generated on the fly as a data source of the training loop (:func:`nnstructure.train.loop.train_network`).

    ``n_train`` images of split ``"train"`` and ``n_test`` of split ``"test"``
    of dataset seed ``seed``, rendered by ``workers`` DataLoader processes;
    nothing is kept in memory beyond the batches in flight. Every epoch visits
    the training images in an order drawn from the loop's epoch generator.
    Loss: MSE (regression, distances) or cross-entropy (classification).
    :meth:`training_data` binds it to a device (the loop's data interface).
    """

    streamed = True
    is_image = True
    channels_last = True
    eval_batch = 512

    def __init__(self, task: str, n_train: int, n_test: int, seed: int = 0, workers: int = 0,
                 cutoff: float | None = None, device: torch.device | None = None, class_discard: float = 0.0,
                 weighting_from_epoch: int = 1):
        self.task_name = check_task(task)
        self.n_images, self.n_test = int(n_train), int(n_test)
        if self.n_images < 1 or self.n_test < 1:
            raise ValueError(f"dots training needs n_train >= 1 and n_test >= 1, got {n_train} and {n_test}")
        self.seed, self.workers = int(seed), int(workers)
        self.cutoff = classification_cutoff(CLASSIFICATION_FRACTION) if task == "classification" and cutoff is None else cutoff
        self.device = device
        self.classification = task == "classification"
        self.task = "classification" if self.classification else "regression"
        self.name = f"dots-{task}-seed{self.seed}-n{self.n_images}"
        self.discard = float(class_discard or 0.0)
        if not 0.0 <= self.discard < 1.0:
            raise ValueError(f"class_discard must be in [0, 1), got {class_discard}")
        self.weighting_from = 1 if weighting_from_epoch is None else int(weighting_from_epoch)
        if self.weighting_from < 1:
            raise ValueError(f"weighting_from_epoch counts epochs from 1, got {weighting_from_epoch}")
        if self.weighting_from > 1 and not self.discard:
            raise ValueError("weighting_from_epoch delays the weighting of the common-class discard; without "
                             "class_discard there is nothing to weigh: set class_discard, or weighting_from_epoch to 1")
        self._epoch = 0  # 0-indexed epoch being trained (the loop's before_epoch hook)
        #: What of the sampling the resume state must match (None: every image, every epoch).
        self.sampling = None
        self.n_train = self.n_images  # the (expected) images of one epoch: the loop's steps and lr schedule
        if self.discard:
            if not self.classification:
                raise ValueError(f"class_discard thins the common class of the classification task; task {task!r} "
                                 "has no classes: set class_discard to 0 (or null)")
            self._rare = split_labels(self.seed, "train", self.n_images, "classification", self.cutoff) == 0
            n_rare = int(self._rare.sum())
            self.n_train = n_rare + int(round((self.n_images - n_rare) * (1.0 - self.discard)))
            self.common_weight = 1.0 / (1.0 - self.discard)
            self.sampling = {"class_discard": self.discard, "weighting_from_epoch": self.weighting_from}

    def training_data(self, device: torch.device) -> "DotsTrainingData":
        return DotsTrainingData(self.task_name, self.n_images, self.n_test, self.seed, self.workers, self.cutoff, device,
                                self.discard, self.weighting_from)

    def before_epoch(self, model: torch.nn.Module, epoch: int) -> None:
        """The loop's hook before 0-indexed ``epoch``: the weighting starts at epoch ``weighting_from_epoch``."""
        self._epoch = int(epoch)

    def epoch_common_weight(self) -> float:
        """The loss weight of a kept class-1 image in the epoch being trained."""
        return self.common_weight if self._epoch + 1 >= self.weighting_from else 1.0

    def epoch_rows(self, seed: int) -> np.ndarray:
        """The training images of one epoch: every class-0 image and a seeded share 1 - d of the class-1 ones."""
        keep = np.random.default_rng(derive_seed("dots-class-discard", seed)).random(self.n_images) >= self.discard
        return np.flatnonzero(self._rare | keep)

    def check_compatible(self, spec: dict, config) -> None:
        if list(spec["input_shape"]) != list(INPUT_SHAPE):
            raise ValueError(f"dots images are {list(INPUT_SHAPE)}; the model takes {spec['input_shape']}")
        if spec["n_outputs"] != n_outputs(self.task_name):
            raise ValueError(f"dots task {self.task_name!r} needs {n_outputs(self.task_name)} outputs, the model has {spec['n_outputs']}")
        if getattr(config, "augment", False):
            raise ValueError("augmentation is not used for dots and distances; drop --augment")

    def _batches(self, split: str, n: int, batch_size: int, shuffle: bool, order_seed: int,
                 rows: np.ndarray | None = None, weighted: bool = False):
        loader = dots_loader(self.seed, split, n, batch_size, self.task_name, shuffle, order_seed, 0, self.workers,
                             cutoff=self.cutoff, rows=rows)
        for x, y in loader:
            x = x.to(self.device, non_blocking=True).float().div_(255.0).contiguous(memory_format=torch.channels_last)
            y = y.to(self.device, non_blocking=True)
            if weighted:  # (labels, weights): a kept class-1 image stands for 1 / (1 - d) of them
                y = (y, torch.where(y == 1, self.epoch_common_weight(), 1.0).float())
            yield x, y

    def train_batches(self, batch_size: int, shuffle: bool, generator: torch.Generator):
        order_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        if not self.discard:
            return self._batches("train", self.n_images, batch_size, shuffle, order_seed)
        rows = self.epoch_rows(order_seed)
        return self._batches("train", len(rows), batch_size, shuffle, order_seed, rows=rows, weighted=True)

    def loss(self, output: torch.Tensor, y, reduction: str = "mean") -> torch.Tensor:
        """MSE or cross-entropy; with weights (``y`` a pair, the common-class discard) sum(w * loss) / sum(w)."""
        output = output.float()  # bf16 autocast: the loss in float32
        if isinstance(y, tuple):
            labels, weight = y
            total = (weight * torch.nn.functional.cross_entropy(output, labels, reduction="none")).sum()
            return total if reduction == "sum" else total / weight.sum()
        if self.classification:
            return torch.nn.functional.cross_entropy(output, y, reduction=reduction)
        loss = torch.nn.functional.mse_loss(output, y.float(), reduction=reduction)
        return loss / output.shape[1] if reduction == "sum" else loss

    @torch.no_grad()
    def evaluate_split(self, model: torch.nn.Module, split: str) -> tuple[float, float | None]:
        """The loss (and accuracy) over the test split, or over the first images of the training stream, as many
        as an epoch holds (all ``n_train`` without the discard), unweighted: the real distribution either way."""
        n = self.n_train if split == "train" else self.n_test
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        for x, y in self._batches(split, n, self.eval_batch, False, 0):
            out = model(x)
            total += self.loss(out, y, reduction="sum").double()
            if self.classification:
                correct += (out.argmax(dim=1) == y).sum()
        return float(total) / n, (int(correct) / n if self.classification else None)


def split_labels(seed: int, split: str, n: int, task: str, cutoff: float | None = None,
                 chunk: int = 1_000_000) -> np.ndarray:
    """The labels of images ``0..n-1`` of one split, from their centres alone (nothing is rendered), in chunks."""
    parts = [dots_labels_for(centres_at(dots_split_seed(seed, split), np.arange(s, min(s + chunk, n))), task, cutoff)
             for s in range(0, n, chunk)]
    return np.concatenate(parts)


def baseline_loss(task: str, seed: int, n_train: int, n_test: int, chunk: int = 1_000_000) -> float:
    """The loss of a network that ignores its input, on the test split.

    Regression / distances: MSE of guessing the training mean (thesis: 0.0166
    for the mean distance). Classification: cross-entropy of predicting the
    training base rate (thesis: 0.053). Only centres are drawn, in chunks.
    """
    train = split_labels(seed, "train", n_train, task, chunk=chunk)
    test = split_labels(seed, "test", n_test, task, chunk=chunk)
    if check_task(task) == "classification":
        p = np.bincount(train, minlength=2) / len(train)
        p = np.clip(p, 1e-12, 1.0)
        return float(-np.log(p[test]).mean())
    mean = train.astype(np.float64).mean(axis=0)
    return float(((test - mean) ** 2).mean())
