"""The LINES dataset (thesis section 3.3.3) and its mixtures with MNIST.

A LINES image is 28x28, black (0), with ``k`` white (255) vertical lines
running the full height; the label is ``k``, uniform on 0-9. Lines are one
pixel wide and sit on the even columns 0, 2, ..., 26 (14 slots); the ``k``
slots are chosen uniformly at random without replacement. Two lines are thus
always separated by at least one black column, so they never touch and the
number of lines equals the number of white runs along any row.

Mixtures (each split built from MNIST's split of the same name):

- ``lines-mnist`` (overlapping): a random half of the MNIST split, plus as many
  LINES images with exactly the same label counts, shuffled together; every
  class is half LINES, half MNIST.
- ``lines-mnist-sep`` (separate): every MNIST image of classes 5-9, plus LINES
  images of classes 0-4 whose class counts equal those of MNIST classes 5-9
  (as many k-line images as MNIST images of class k+5), shuffled together.
"""

from __future__ import annotations

import numpy as np

SIZE = 28
SLOTS = np.arange(0, SIZE, 2)  # the columns a line may occupy


def lines_images(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(N, 1, 28, 28)`` uint8 images with ``counts[i]`` non-touching vertical lines each."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and (counts.min() < 0 or counts.max() > 9):
        raise ValueError("LINES images have 0 to 9 lines")
    # A uniform random permutation of 0..13 per image; slot s carries a line when its entry is
    # below k, which picks a uniform random k-subset of the slots.
    perm = np.argsort(rng.random((len(counts), len(SLOTS))), axis=1)
    chosen = perm < counts[:, None]
    rows = np.zeros((len(counts), SIZE), dtype=np.uint8)
    rows[:, SLOTS] = np.where(chosen, 255, 0)
    return np.repeat(rows[:, None, None, :], SIZE, axis=2)


def make_lines(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, size=n)
    return lines_images(labels, rng), labels.astype(np.int64)


def count_lines(image: np.ndarray) -> int:
    """Number of white runs along the first row of a LINES image (its number of lines)."""
    row = np.asarray(image).reshape(-1, SIZE)[0] > 127
    return int(np.count_nonzero(row[1:] & ~row[:-1]) + row[0])


def mix_overlapping(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LINES-MNIST: half the MNIST split plus LINES images with the same label counts.

    Returns images, labels and a boolean array ``is_lines``.
    """
    keep = rng.permutation(len(labels))[: len(labels) // 2]
    mnist_labels = labels[keep]
    return _shuffle_together(images[keep], mnist_labels, lines_images(mnist_labels, rng), mnist_labels, rng)


def mix_separate(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LINES-MNIST-SEP: MNIST classes 5-9 plus LINES classes 0-4 with matching counts."""
    keep = np.flatnonzero(labels >= 5)
    mnist_labels = labels[keep]
    lines_labels = mnist_labels - 5
    return _shuffle_together(images[keep], mnist_labels, lines_images(lines_labels, rng), lines_labels, rng)


def _shuffle_together(x_a, y_a, x_b, y_b, rng):
    x = np.concatenate([x_a, x_b])
    y = np.concatenate([y_a, y_b]).astype(np.int64)
    is_lines = np.concatenate([np.zeros(len(y_a), bool), np.ones(len(y_b), bool)])
    order = rng.permutation(len(y))
    return x[order], y[order], is_lines[order]
