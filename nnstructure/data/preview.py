"""A grid of sample images with their labels (like thesis Figures 3.4 and 3.14)."""

from __future__ import annotations

import os

import numpy as np

from nnstructure.data.dataset import Dataset
from nnstructure.io import save_figure


def to_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` floats in [0, 1] from a ``(C, H, W)`` uint8 image.

    One channel is grey; two channels show channel 0 in blue and channel 1 in
    green (as in thesis Figure 3.14); three channels are RGB.
    """
    image = np.asarray(image, dtype=np.float64) / 255.0
    c, h, w = image.shape
    if c == 1:
        return np.repeat(image[0][..., None], 3, axis=-1)
    if c == 2:
        return np.stack([np.zeros((h, w)), image[1], image[0]], axis=-1)
    if c == 3:
        return image.transpose(1, 2, 0)
    raise ValueError(f"cannot show an image with {c} channels")


def sample_rows(ds: Dataset, n_per_row: int, rows: int | None, seed: int) -> list[np.ndarray]:
    """Indices into the training split, one array per row of the grid.

    Classification sets with ``rows=None`` get one row per class (random
    samples of it); otherwise ``rows`` rows (default 4) of random samples.
    """
    rng = np.random.default_rng(seed)
    y = ds.y_train
    if ds.task == "classification" and rows is None:
        out = []
        for c in range(ds.n_classes):
            members = np.flatnonzero(y == c)
            out.append(rng.choice(members, size=min(n_per_row, len(members)), replace=False))
        return out
    rows = 4 if rows is None else rows
    picked = rng.choice(len(y), size=min(rows * n_per_row, len(y)), replace=False)
    return [picked[i : i + n_per_row] for i in range(0, len(picked), n_per_row)]


def preview_grid(ds: Dataset, path: str | os.PathLike, n_per_row: int = 10, rows: int | None = None, seed: int = 0) -> None:
    """Write a PNG grid of training images to ``path``, each titled with its label."""
    if not ds.is_image:
        return feature_preview(ds, path, n_panels=n_per_row, seed=seed)
    from matplotlib.figure import Figure

    grid = sample_rows(ds, n_per_row, rows, seed)
    n_rows = max(len(grid), 1)
    fig = Figure(figsize=(1.0 * n_per_row, 1.2 * n_rows + 0.4), layout="constrained")
    axes = fig.subplots(n_rows, n_per_row, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")  # cells left empty stay blank
    for r, indices in enumerate(grid):
        for col, i in enumerate(indices):
            ax = axes[r, col]
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])  # keep the frame: white images (dots) need a border
            ax.imshow(to_rgb(ds.x_train[i]), interpolation="nearest")
            label = ds.y_train[i]
            text = str(int(label)) if ds.task == "classification" else ", ".join(f"{v:.3f}" for v in np.ravel(label)[:2])
            ax.set_title(text, fontsize=8)
    fig.suptitle(ds.name, fontsize=10)
    save_figure(fig, path)


def feature_preview(ds: Dataset, path: str | os.PathLike, n_panels: int = 10, seed: int = 0, n_points: int = 2000) -> None:
    """Preview a dataset of feature vectors (e.g. polynomial regression).

    Two-dimensional inputs: one scatter panel per target, points at (x, y)
    coloured by the target's value (targets spread evenly over the target
    index, always including the first and last). Other input sizes: the
    distribution of the first inputs and of the targets.
    """
    from matplotlib.figure import Figure

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ds.x_train), size=min(n_points, len(ds.x_train)), replace=False)
    x, y = ds.x_train[idx], np.asarray(ds.y_train[idx]).reshape(len(idx), -1)
    if x.shape[1] == 2:
        targets = np.unique(np.linspace(0, y.shape[1] - 1, min(n_panels, y.shape[1])).round().astype(int))
        cols = min(5, len(targets))
        n_rows = -(-len(targets) // cols)
        fig = Figure(figsize=(2.6 * cols, 2.4 * n_rows), layout="constrained")
        axes = fig.subplots(n_rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, t in zip(axes.flat, targets):
            ax.axis("on")
            points = ax.scatter(x[:, 0], x[:, 1], c=y[:, t], s=3, cmap="viridis")
            ax.set_title(f"target {t}", fontsize=8)
            ax.set_xlabel("x", fontsize=7)
            ax.set_ylabel("y", fontsize=7)
            ax.tick_params(labelsize=6)
            fig.colorbar(points, ax=ax, shrink=0.8)
    else:
        fig = Figure(figsize=(8, 3), layout="constrained")
        axes = fig.subplots(1, 2)
        axes[0].hist(x[:, : min(5, x.shape[1])], bins=40, histtype="step")
        axes[0].set_title("first inputs", fontsize=9)
        axes[1].hist(y[:, : min(5, y.shape[1])], bins=40, histtype="step")
        axes[1].set_title("targets", fontsize=9)
    fig.suptitle(f"{ds.name} ({len(ds.x_train)} training samples; {n_points} shown)", fontsize=10)
    save_figure(fig, path)
