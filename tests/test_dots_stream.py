"""Dots and distances on the fly: random access, identity with the cached dataset, the classification cut-off."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnstructure.data import make_dataset
from nnstructure.data.dots import (
    CLASSIFICATION_FRACTION,
    COLOURS,
    RADIUS,
    SIZE,
    centres_at,
    classification_cutoff,
    dots_class_labels,
    dots_labels,
    mean_distance_cdf,
    render_dots,
    sample_centres,
)
from nnstructure.data.dots_stream import DotsBatches, dots_loader, generate_dots


def _render_on_whole_grid(centres: np.ndarray) -> np.ndarray:
    """The original renderer: every circle tested against every pixel."""
    grid = (np.arange(SIZE) + 0.5) / SIZE
    out = np.full((len(centres), SIZE, SIZE, 3), 255, dtype=np.uint8)
    for k in range(6):
        dx = grid[None, None, :] - centres[:, k, 0, None, None]
        dy = grid[None, :, None] - centres[:, k, 1, None, None]
        out[dx**2 + dy**2 <= RADIUS**2] = COLOURS[k]
    return out.transpose(0, 3, 1, 2)


def test_windowed_renderer_matches_the_whole_grid_rule():
    centres = sample_centres(300, np.random.default_rng(0))
    # Centres on the borders of the allowed square and on pixel boundaries.
    centres[:40] = np.random.default_rng(1).choice([0.05, 0.95, 0.5 + 1 / 128, 0.05 + 1e-12, 0.95 - 1e-12], size=(40, 6, 2))
    np.testing.assert_array_equal(render_dots(centres), _render_on_whole_grid(centres))


def test_random_access_equals_drawing_in_order():
    ordered = sample_centres(50, np.random.default_rng(123))
    picks = [7, 3, 4, 5, 49, 0, 0]
    np.testing.assert_array_equal(centres_at(123, picks), ordered[picks])


def test_stream_is_identical_to_the_cached_generator_for_the_same_seed():
    cached = make_dataset("dots", "/nonexistent", seed=5, n_train=40, n_test=12)
    x, y = generate_dots(5, "train", np.arange(40))
    np.testing.assert_array_equal(x, cached.x_train)
    np.testing.assert_array_equal(y, cached.y_train)
    x, y = generate_dots(5, "test", [11, 2])
    np.testing.assert_array_equal(x, cached.x_test[[11, 2]])
    np.testing.assert_array_equal(y, cached.y_test[[11, 2]])


def test_batches_are_deterministic_per_seed_and_epoch_and_cover_every_image_once():
    a = DotsBatches(seed=1, split="train", n=10, batch_size=4, shuffle=True, order_seed=3, epoch=2)
    b = DotsBatches(seed=1, split="train", n=10, batch_size=4, shuffle=True, order_seed=3, epoch=2)
    c = DotsBatches(seed=1, split="train", n=10, batch_size=4, shuffle=True, order_seed=3, epoch=3)
    assert len(a) == 3
    order = np.concatenate([a.indices(i) for i in range(len(a))])
    assert sorted(order) == list(range(10))
    assert not np.array_equal(order, np.concatenate([c.indices(i) for i in range(len(c))]))
    for i in range(len(a)):
        torch.testing.assert_close(a[i][0], b[i][0])
    x, y = a[0]
    expected_x, expected_y = generate_dots(1, "train", a.indices(0))
    np.testing.assert_array_equal(x.numpy(), expected_x)
    np.testing.assert_array_equal(y.numpy(), expected_y)


def test_worker_processes_yield_the_same_batches_in_order():
    serial = [x for x, _ in dots_loader(2, "train", 24, 8, task="distances", shuffle=True)]
    parallel = [x for x, _ in dots_loader(2, "train", 24, 8, task="distances", shuffle=True, workers=2)]
    assert len(serial) == len(parallel) == 3
    for s, p in zip(serial, parallel):
        torch.testing.assert_close(s, p)


def test_label_tasks():
    x, y = generate_dots(0, "train", np.arange(6), task="distances")
    assert y.shape == (6, 3) and y.dtype == np.float32
    _, mean = generate_dots(0, "train", np.arange(6))
    np.testing.assert_allclose(y.mean(axis=1, keepdims=True), mean, rtol=1e-6)
    _, classes = generate_dots(0, "train", np.arange(6), task="classification")
    assert classes.dtype == np.int64 and set(classes) <= {0, 1}


def test_closed_form_distribution_matches_sampling_below_the_cut_off():
    centres = sample_centres(200_000, np.random.default_rng(9))
    labels = dots_labels(centres)[:, 0]
    for m in (0.12, 0.2, 0.28):
        p = mean_distance_cdf(m)
        se = np.sqrt(p * (1 - p) / len(labels))
        assert abs((labels < m).mean() - p) < 4 * se


def test_classification_cut_off_puts_093_percent_in_the_first_class():
    cutoff = classification_cutoff()
    assert mean_distance_cdf(cutoff) == pytest.approx(CLASSIFICATION_FRACTION, rel=1e-9)
    assert cutoff == pytest.approx(0.18594, abs=1e-4)
    centres = sample_centres(400_000, np.random.default_rng(11))
    first = (dots_class_labels(centres, cutoff) == 0).mean()
    se = np.sqrt(CLASSIFICATION_FRACTION * (1 - CLASSIFICATION_FRACTION) / len(centres))  # 0.00015
    assert abs(first - CLASSIFICATION_FRACTION) < 4 * se


def test_common_class_discard_keeps_every_rare_image_and_a_fresh_share_of_the_rest():
    from nnstructure.data.dots_stream import DotsTrainingData, split_labels

    n, d = 20_000, 0.9
    data = DotsTrainingData("classification", n, 100, seed=4, class_discard=d).training_data(torch.device("cpu"))
    labels = split_labels(4, "train", n, "classification")
    rare = np.flatnonzero(labels == 0)
    assert 100 < len(rare) < 280  # 0.93% of 20,000 is 186
    assert data.n_train == len(rare) + round((n - len(rare)) * (1 - d))
    a, b = data.epoch_rows(1), data.epoch_rows(2)
    assert set(rare) <= set(a) and set(rare) <= set(b)
    common = n - len(rare)
    for rows in (a, b):
        kept = len(rows) - len(rare)
        assert abs(kept - common * (1 - d)) < 4 * np.sqrt(common * d * (1 - d))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, data.epoch_rows(1))


def test_common_class_discard_weights_the_batch_loss_to_the_whole_split():
    """Each epoch's weighted loss is an unbiased estimate of the mean cross-entropy over all n_train images."""
    from nnstructure.data.dots_stream import DotsTrainingData, split_labels

    n, d = 4_000, 0.8
    data = DotsTrainingData("classification", n, 100, seed=5, class_discard=d).training_data(torch.device("cpu"))
    labels = torch.from_numpy(split_labels(5, "train", n, "classification"))
    logits = torch.tensor([0.3, 2.0])  # a net that ignores its input: the loss depends on the label alone
    full = torch.nn.functional.cross_entropy(logits.expand(n, 2), labels).item()
    estimates = []
    for epoch in range(40):
        total = weight = 0.0
        for x, (y, w) in data.train_batches(512, True, torch.Generator().manual_seed(epoch)):
            assert x.shape[1:] == (3, 64, 64)
            np.testing.assert_array_equal(w.numpy(), np.where(y.numpy() == 1, 1 / (1 - d), 1.0).astype(np.float32))
            total += data.loss(logits.expand(len(y), 2), (y, w), reduction="sum").item()
            weight += w.sum().item()
        estimates.append(total / weight)
    assert np.mean(estimates) == pytest.approx(full, rel=0.02)


def test_common_class_discard_is_for_classification_only():
    from nnstructure.data.dots_stream import DotsTrainingData

    with pytest.raises(ValueError, match="class_discard"):
        DotsTrainingData("regression", 100, 10, class_discard=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DotsTrainingData("classification", 100, 10, class_discard=1.0)


def test_the_weighting_can_start_at_a_later_epoch():
    from nnstructure.data.dots_stream import DotsTrainingData

    data = DotsTrainingData("classification", 3_000, 10, seed=6, class_discard=0.9,
                            weighting_from_epoch=3).training_data(torch.device("cpu"))
    assert data.sampling == {"class_discard": 0.9, "weighting_from_epoch": 3}
    for epoch, common in ((0, 1.0), (1, 1.0), (2, 10.0), (5, 10.0)):
        data.before_epoch(None, epoch)
        _, (y, w) = next(iter(data.train_batches(256, True, torch.Generator().manual_seed(epoch))))
        assert (y == 1).any() and np.allclose(w[y == 1].numpy(), common) and np.all(w[y == 0].numpy() == 1.0)
    with pytest.raises(ValueError, match="class_discard"):
        DotsTrainingData("classification", 100, 10, weighting_from_epoch=2)
    with pytest.raises(ValueError, match="from 1"):
        DotsTrainingData("classification", 100, 10, class_discard=0.5, weighting_from_epoch=0)
