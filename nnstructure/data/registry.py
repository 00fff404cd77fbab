"""Every dataset by name: :func:`make_dataset` builds it, deterministically from a seed.

Sets derived from real data take each split from the real split of the same
name (train from train, test from test). ``n_train`` / ``n_test`` ask for a
smaller (or, for generated sets, different) size: sets derived from real data
take a seeded random subset of the full-size construction (keeping source
order); purely generated sets (``lines``, ``random``, ``memorization``,
``polynomial``, ``dots``) draw that many samples directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nnstructure.data import dots, lines, pairs, polynomial, random_images, real
from nnstructure.data.dataset import Dataset
from nnstructure.seeding import derive_seed

Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

REAL_LOADERS: dict[str, Callable[[str | os.PathLike], Splits]] = {
    "mnist": real.load_mnist,
    "fashion": real.load_fashion,
    "cifar10": real.load_cifar10,
}

# (generator, default train size, default test size) of the purely generated sets.
GENERATED = {
    "lines": (lines.make_lines, 60_000, 10_000),
    "random": (random_images.make_random, 60_000, 10_000),
    "memorization": (random_images.make_random, 3_000, 10_000),
    "polynomial": (polynomial.make_polynomial, 60_000, 10_000),
    # The thesis trained on 9e5 images; 50k keeps the artifact under 1 GB. Pass n_train for more.
    "dots": (dots.make_dots, 50_000, 10_000),
}

PAIRED = {
    f"{src}-{kind}-{rule}": (src, kind, rule)
    for src in ("mnist", "fashion")
    for kind in ("halves", "stack")
    for rule in ("same", "diff")
}

DATASETS: tuple[str, ...] = (
    "mnist",
    "fashion",
    "cifar10",
    *(f"{src}-halves-{rule}" for src in ("mnist", "fashion") for rule in ("same", "diff")),
    *(f"{src}-stack-{rule}" for src in ("mnist", "fashion") for rule in ("same", "diff")),
    "lines",
    "lines-mnist",
    "lines-mnist-sep",
    "random",
    "memorization",
    "polynomial",
    "mnist-7x7",
    "dots",
)


@dataclass(frozen=True)
class DatasetShape:
    """What a network for a dataset looks like, known without the dataset's files."""

    input_shape: tuple[int, ...]
    n_outputs: int  # classes, or regression targets
    task: str = "classification"


_GREY_28 = DatasetShape((1, 28, 28), 10)
#: Every dataset's input shape, output count and task: a randomly initialised network is built from these
#: alone (a random-init VGG needs no CIFAR-10). tests/test_random_init.py checks them against the datasets.
SHAPES: dict[str, DatasetShape] = {
    "mnist": _GREY_28,
    "fashion": _GREY_28,
    "cifar10": DatasetShape((3, 32, 32), 10),
    **{f"{src}-halves-{rule}": _GREY_28 for src in ("mnist", "fashion") for rule in ("same", "diff")},
    **{f"{src}-stack-{rule}": DatasetShape((2, 28, 28), 10) for src in ("mnist", "fashion") for rule in ("same", "diff")},
    "lines": _GREY_28,
    "lines-mnist": _GREY_28,
    "lines-mnist-sep": _GREY_28,
    "random": _GREY_28,
    "memorization": _GREY_28,
    "polynomial": DatasetShape((2,), 512, "regression"),
    "mnist-7x7": DatasetShape((1, 7, 7), 10),
    "dots": DatasetShape((3, 64, 64), 1, "regression"),
}


def dataset_shape(name: str) -> DatasetShape:
    """The input shape, output count and task of dataset ``name``, without building it."""
    _check_name(name)
    return SHAPES[name]


def required_real_datasets(name: str) -> list[str]:
    """The real datasets (keys of ``REAL_LOADERS``) that dataset ``name`` is built from."""
    _check_name(name)
    if name in REAL_LOADERS:
        return [name]
    if name in PAIRED:
        return [PAIRED[name][0]]
    if name in ("lines-mnist", "lines-mnist-sep", "mnist-7x7"):
        return ["mnist"]
    return []


def make_dataset(
    name: str, data_dir: str | os.PathLike, seed: int = 0, n_train: int | None = None, n_test: int | None = None
) -> Dataset:
    """Build dataset ``name`` (one of :data:`DATASETS`); real files are looked up under ``data_dir``."""
    _check_name(name)
    sizes = {"train": n_train, "test": n_test}
    for split, n in sizes.items():
        if n is not None and n < 1:
            raise ValueError(f"n_{split} must be a positive number of samples, got {n}")
    rngs = {split: np.random.default_rng(derive_seed("dataset", name, seed, split)) for split in sizes}
    meta = {"seed": seed}
    arrays: dict[str, np.ndarray] = {}
    task, n_classes = "classification", 10

    if name in GENERATED:
        generate, *defaults = GENERATED[name]
        for (split, n), default in zip(sizes.items(), defaults):
            arrays[f"x_{split}"], arrays[f"y_{split}"] = generate(default if n is None else n, rngs[split])
        if name in ("polynomial", "dots"):
            task, n_classes = "regression", None
    else:
        source = required_real_datasets(name)[0]
        loaded = REAL_LOADERS[source](data_dir)
        for i, split in enumerate(sizes):
            x, y = loaded[2 * i], loaded[2 * i + 1]
            x, y = _derive(name, x, y, sizes[split], rngs[split], meta, split)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return Dataset(name=name, task=task, n_classes=n_classes, meta=meta, **arrays)


def _derive(name, x, y, n, rng, meta, split):
    """One split of a set built from real images ``x`` with labels ``y``."""
    if name in PAIRED:
        _, kind, rule = PAIRED[name]
        first = _subset(len(y), n, rng, name, split)
        partner = pairs.partner_indices(y, first, rule == "same", rng)
        images = (pairs.make_halves if kind == "halves" else pairs.make_stack)(x, first, partner)
        return images, pairs.pair_labels(y, first, partner, rule == "same")
    if name in ("lines-mnist", "lines-mnist-sep"):
        mix = lines.mix_overlapping if name == "lines-mnist" else lines.mix_separate
        x, y, is_lines = mix(x, y, rng)
        keep = _subset(len(y), n, rng, name, split)
        meta[f"lines_fraction_{split}"] = float(is_lines[keep].mean())
        return x[keep], y[keep]
    keep = _subset(len(y), n, rng, name, split)
    x, y = x[keep], y[keep]
    if name == "mnist-7x7":
        x = average_pool(x, 4)
    return x, y


def average_pool(images: np.ndarray, factor: int) -> np.ndarray:
    """Downsample ``(N, C, H, W)`` uint8 images by ``factor x factor`` averaging, rounded to nearest."""
    n, c, h, w = images.shape
    blocks = images.reshape(n, c, h // factor, factor, w // factor, factor).astype(np.float64)
    return np.rint(blocks.mean(axis=(3, 5))).astype(np.uint8)


def _subset(total: int, n: int | None, rng: np.random.Generator, name: str, split: str) -> np.ndarray:
    if n is None or n == total:
        return np.arange(total)
    if n > total:
        raise ValueError(f"{name} has {total} {split} samples; n_{split}={n} asks for more. Use at most {total}.")
    return np.sort(rng.choice(total, size=n, replace=False))


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
