"""'Halves' and 'stack' datasets (thesis sections 3.3.1 and 3.4.2): two images make one input.

Every image of the source split is used once as the *first* image; its partner
is drawn at random from the whole split:

- ``same``: the partner is a uniformly random *other* image of the same class;
  the label is that class.
- ``diff``: the partner is a uniformly random image of the split (so its class
  is random with the split's class frequencies, independent of the first);
  the label is ``(first class + partner class) mod 10``.

*Halves* squeezes each 28x28 image to 28x14 by averaging horizontally adjacent
pixel pairs (2x1 average pooling, rounded half up) and puts the first image on
the left, the partner on the right. *Stack* puts the first image in channel 0
and the partner in channel 1, giving ``(N, 2, 28, 28)``.
"""

from __future__ import annotations

import numpy as np


def partner_indices(labels: np.ndarray, first: np.ndarray, same: bool, rng: np.random.Generator) -> np.ndarray:
    """For each index in ``first``, a random partner index into ``labels`` (same class if ``same``)."""
    labels = np.asarray(labels)
    if not same:
        return rng.integers(0, len(labels), size=len(first))
    partners = np.empty(len(first), dtype=np.int64)
    for c in np.unique(labels[first]):
        members = np.flatnonzero(labels == c)
        rows = np.flatnonzero(labels[first] == c)
        if len(members) < 2:
            raise ValueError(f"class {c} has {len(members)} image(s); a 'same' pair needs at least 2")
        # Choose among the other members: draw from n-1 slots and skip the first image's own slot.
        own = np.searchsorted(members, first[rows])
        draw = rng.integers(0, len(members) - 1, size=len(rows))
        partners[rows] = members[draw + (draw >= own)]
    return partners


def pair_labels(labels: np.ndarray, first: np.ndarray, partner: np.ndarray, same: bool) -> np.ndarray:
    if same:
        return labels[first].astype(np.int64)
    return ((labels[first] + labels[partner]) % 10).astype(np.int64)


def squeeze_width(images: np.ndarray) -> np.ndarray:
    """Halve the width of ``(N, C, H, W)`` uint8 images by averaging column pairs (rounded half up)."""
    pairs = images.reshape(*images.shape[:-1], images.shape[-1] // 2, 2).astype(np.uint16)
    return ((pairs[..., 0] + pairs[..., 1] + 1) // 2).astype(np.uint8)


def make_halves(images: np.ndarray, first: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """``(N, 1, 28, 28)`` images: squeezed first image on the left, squeezed partner on the right."""
    squeezed = squeeze_width(images)
    return np.concatenate([squeezed[first], squeezed[partner]], axis=-1)


def make_stack(images: np.ndarray, first: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """``(N, 2, H, W)`` images: first image in channel 0, partner in channel 1."""
    return np.concatenate([images[first], images[partner]], axis=1)
