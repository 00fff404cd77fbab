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
        raise ValueError(f"{ds.name} has no images (inputs of shape {ds.input_shape}); there is nothing to preview")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = sample_rows(ds, n_per_row, rows, seed)
    n_rows = max(len(grid), 1)
    fig, axes = plt.subplots(
        n_rows, n_per_row, figsize=(1.0 * n_per_row, 1.2 * n_rows + 0.4), squeeze=False, layout="constrained"
    )
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
