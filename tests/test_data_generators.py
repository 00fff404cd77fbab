"""Each generated dataset's defining property, on a tiny fake MNIST (no real data, no network)."""

import argparse

import numpy as np
import pytest
from conftest import trust_test_data

from nnstructure.data import DATASETS, load_dataset, make_dataset, preview_grid
from nnstructure.data.cli import register
from nnstructure.data.dots import dots_labels, pair_distances, render_dots, sample_centres
from nnstructure.data.idx import idx_bytes, write_idx_gz
from nnstructure.data.lines import count_lines
from nnstructure.data.pairs import squeeze_width
from nnstructure.data.polynomial import polynomial_targets
from nnstructure.data.preview import to_rgb
from nnstructure.data.registry import average_pool

N_TRAIN, N_TEST = 100, 30


def class_value(c):
    return 20 + 20 * c


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Fake MNIST and Fashion: sample i has label i % 10, every pixel class_value(label)
    except row 0, columns 0-1, which hold the sample index (so pairs can be told apart)."""
    root = tmp_path_factory.mktemp("data")
    for folder in ("mnist", "fashion-mnist"):
        for split, n in (("train", N_TRAIN), ("t10k", N_TEST)):
            labels = (np.arange(n) % 10).astype(np.uint8)
            images = np.empty((n, 28, 28), dtype=np.uint8)
            images[:] = class_value(labels)[:, None, None]
            images[:, 0, :2] = np.arange(n)[:, None]
            write_idx_gz(idx_bytes(images), root / folder / f"{split}-images-idx3-ubyte.gz")
            write_idx_gz(idx_bytes(labels), root / folder / f"{split}-labels-idx1-ubyte.gz")
    patch = pytest.MonkeyPatch()
    trust_test_data(patch, root)
    yield root
    patch.undo()


def classes_of(images):
    """Class of fake-MNIST pixels (read away from the id row)."""
    return (images.astype(int) - 20) // 20


def test_all_thesis_names_are_offered():
    assert set(DATASETS) == {
        "mnist", "fashion", "cifar10", "mnist-halves-same", "mnist-halves-diff", "fashion-halves-same",
        "fashion-halves-diff", "mnist-stack-same", "mnist-stack-diff", "fashion-stack-same", "fashion-stack-diff",
        "lines", "lines-mnist", "lines-mnist-sep", "random", "memorization", "polynomial", "mnist-7x7", "dots",
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown dataset 'mnist-halves'.*mnist-halves-diff"):
        make_dataset("mnist-halves", "/nonexistent")


def test_squeeze_width_averages_column_pairs():
    images = np.array([[[[0, 255, 10, 11], [4, 4, 7, 8]]]], dtype=np.uint8)
    np.testing.assert_array_equal(squeeze_width(images), [[[[128, 11], [4, 8]]]])


@pytest.mark.parametrize("source", ["mnist", "fashion"])
def test_halves_diff_label_is_sum_of_halves_mod_10(data_dir, source):
    ds = make_dataset(f"{source}-halves-diff", data_dir, seed=1)
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.shape[1:] == (1, 28, 28)
        left, right = classes_of(x[:, 0, 5, 3]), classes_of(x[:, 0, 5, 20])
        np.testing.assert_array_equal(y, (left + right) % 10)
    # Every training image appears once on the left; partners come from random classes.
    np.testing.assert_array_equal(classes_of(ds.x_train[:, 0, 5, 3]), np.arange(N_TRAIN) % 10)
    assert len(np.unique(classes_of(ds.x_train[:, 0, 5, 20]))) >= 8


def test_halves_same_pairs_two_different_images_of_the_label_class(data_dir):
    ds = make_dataset("mnist-halves-same", data_dir, seed=2)
    x, y = ds.x_train, ds.y_train
    np.testing.assert_array_equal(classes_of(x[:, 0, 5, 3]), y)
    np.testing.assert_array_equal(classes_of(x[:, 0, 5, 20]), y)
    left_id, right_id = x[:, 0, 0, 0], x[:, 0, 0, 14]  # id columns 0-1 squeeze into column 0 of each half
    assert np.all(left_id != right_id)
    np.testing.assert_array_equal(left_id % 10, right_id % 10)


@pytest.mark.parametrize("rule", ["same", "diff"])
def test_stack_channels_carry_the_two_images(data_dir, rule):
    ds = make_dataset(f"mnist-stack-{rule}", data_dir, seed=3)
    x, y = ds.x_test, ds.y_test
    assert x.shape == (N_TEST, 2, 28, 28)
    a, b = classes_of(x[:, 0, 5, 5]), classes_of(x[:, 1, 5, 5])
    np.testing.assert_array_equal(y, a if rule == "same" else (a + b) % 10)
    if rule == "same":
        np.testing.assert_array_equal(a, b)
        assert np.all(x[:, 0, 0, 0] != x[:, 1, 0, 0])


def test_count_lines_counts_white_runs():
    row = np.zeros(28, dtype=np.uint8)
    row[[0, 5, 6, 27]] = 255
    assert count_lines(np.tile(row, (28, 1))) == 3


def test_lines_label_is_number_of_nontouching_full_height_lines():
    ds = make_dataset("lines", "/nonexistent", seed=4, n_train=2000, n_test=50)
    x, y = ds.x_train[:, 0], ds.y_train
    assert set(np.unique(y)) == set(range(10))
    assert set(np.unique(x)) == {0, 255}
    np.testing.assert_array_equal([count_lines(img) for img in x], y)
    assert np.all(x == x[:, :1, :])  # full height: every row is the same
    white = x[:, 0] == 255
    assert not np.any(white[:, 1:] & white[:, :-1])  # no two adjacent white columns
    assert np.all(white.sum(axis=1) == y)  # one-pixel-wide lines
    # Line positions vary: many distinct 3-line layouts.
    assert len({tuple(row) for row in white[y == 3]}) > 50


def test_lines_mnist_overlapping_is_half_lines_in_every_class(data_dir):
    ds = make_dataset("lines-mnist", data_dir, seed=5)
    x, y = ds.x_train[:, 0], ds.y_train
    assert len(y) == N_TRAIN
    is_lines = np.all(x == x[:, :1, :], axis=(1, 2))  # fake MNIST images have an id row that differs
    for c in range(10):
        assert is_lines[y == c].sum() == (~is_lines[y == c]).sum()
    np.testing.assert_array_equal([count_lines(img) for img in x[is_lines]], y[is_lines])
    np.testing.assert_array_equal(classes_of(x[~is_lines, 5, 5]), y[~is_lines])
    assert ds.meta["lines_fraction_train"] == 0.5


def test_lines_mnist_separate_gives_lines_0_to_4_and_mnist_5_to_9(data_dir):
    ds = make_dataset("lines-mnist-sep", data_dir, seed=6)
    x, y = ds.x_test[:, 0], ds.y_test
    is_lines = np.all(x == x[:, :1, :], axis=(1, 2))
    np.testing.assert_array_equal(is_lines, y < 5)
    np.testing.assert_array_equal([count_lines(img) for img in x[is_lines]], y[is_lines])
    np.testing.assert_array_equal(classes_of(x[~is_lines, 5, 5]), y[~is_lines])
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [3] * 10)


def test_polynomial_targets_for_hand_picked_inputs():
    # x=2, y=3: monomials 1, y, y^2, x, xy, xy^2, x^2, x^2y, x^2y^2 = 1, 3, 9, 2, 6, 18, 4, 12, 36.
    t = polynomial_targets(np.array([[2.0, 3.0], [0.0, -1.0]], dtype=np.float32))
    assert t.shape == (2, 512) and t.dtype == np.float32
    assert t[0, 0] == 0 and t[0, 1] == 1 and t[0, 2] == 3 and t[0, 3] == 4
    assert t[0, 0b100010000] == 6 + 36  # xy + x^2y^2
    assert t[0, 0b000101000] == 2 + 18  # x + xy^2
    assert t[0, 511] == 91
    # x=0, y=-1: only 1, y, y^2 are nonzero, so target i depends on bits 0-2 alone.
    np.testing.assert_array_equal(t[1, :8], [0, 1, -1, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(t[1, 8:16], t[1, :8])


def test_polynomial_dataset_is_standard_normal_regression():
    ds = make_dataset("polynomial", "/nonexistent", seed=0, n_train=20_000, n_test=10)
    assert (ds.task, ds.n_classes, ds.n_outputs, ds.input_shape) == ("regression", None, 512, (2,))
    assert np.all(np.abs(ds.x_train.mean(axis=0)) < 0.03)
    assert np.all(np.abs(ds.x_train.std(axis=0) - 1) < 0.03)
    np.testing.assert_array_equal(ds.y_test, polynomial_targets(ds.x_test))


def test_dots_label_distribution_matches_thesis():
    centres = sample_centres(20_000, np.random.default_rng(7))
    assert centres.min() >= 0.05 and centres.max() <= 0.95
    labels = dots_labels(centres)
    assert labels.shape == (20_000, 1) and labels.dtype == np.float32
    assert abs(labels.mean() - 0.469) < 0.005
    assert abs(labels.std() - 0.129) < 0.005


def test_dots_rendering_and_labels_by_hand():
    # One image: red pair at distance 0.3, blue at 0.4, green at 0.5; mean 0.4.
    centres = np.array([[[0.1, 0.1], [0.4, 0.1], [0.1, 0.5], [0.5, 0.5], [0.2, 0.9], [0.7, 0.9]]])
    np.testing.assert_allclose(pair_distances(centres), [[0.3, 0.4, 0.5]])
    assert dots_labels(centres)[0, 0] == pytest.approx(0.4)
    image = render_dots(centres)
    assert image.shape == (1, 3, 64, 64) and image.dtype == np.uint8
    colours = {(255, 0, 0): 0, (0, 0, 255): 0, (0, 255, 0): 0}
    pixels = image[0].reshape(3, -1).T
    for colour in colours:
        colours[colour] = int(np.all(pixels == colour, axis=1).sum())
    # Each colour covers two disjoint discs of radius 0.05 * 64 = 3.2 px: about 2 * pi * 3.2^2 = 64 pixels.
    for count in colours.values():
        assert 56 <= count <= 72
    white = int(np.all(pixels == 255, axis=1).sum())
    assert white + sum(colours.values()) == 64 * 64
    # The pixel under each centre has that centre's colour (row index = y, column index = x).
    col, row = int(0.4 * 64), int(0.1 * 64)
    assert tuple(image[0, :, row, col]) == (255, 0, 0)
    col, row = int(0.7 * 64), int(0.9 * 64)
    assert tuple(image[0, :, row, col]) == (0, 255, 0)


def test_dots_dataset_shapes():
    ds = make_dataset("dots", "/nonexistent", seed=0, n_train=8, n_test=4)
    assert ds.x_train.shape == (8, 3, 64, 64) and ds.y_train.shape == (8, 1) and ds.task == "regression"


def test_random_and_memorization_are_uniform_noise_with_random_labels():
    ds = make_dataset("random", "/nonexistent", seed=0, n_train=500, n_test=20)
    assert ds.x_train.shape == (500, 1, 28, 28) and ds.x_train.dtype == np.uint8
    assert abs(ds.x_train.mean() - 127.5) < 1.0  # s.e. of the mean is 73.9 / sqrt(392000) = 0.12
    assert ds.x_train.min() == 0 and ds.x_train.max() == 255
    assert set(np.unique(ds.y_train)) == set(range(10))
    memo = make_dataset("memorization", "/nonexistent", seed=0)
    assert len(memo.y_train) == 3000 and len(memo.y_test) == 10_000


def test_average_pool_by_hand_and_mnist_7x7(data_dir):
    block = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    assert average_pool(block, 4)[0, 0, 0, 0] == 8  # mean 7.5 rounds to the even 8
    images = np.zeros((1, 1, 8, 8), dtype=np.uint8)
    images[0, 0, :4, 4:] = 100
    np.testing.assert_array_equal(average_pool(images, 4)[0, 0], [[0, 100], [0, 0]])
    ds = make_dataset("mnist-7x7", data_dir)
    assert ds.x_train.shape == (N_TRAIN, 1, 7, 7)
    np.testing.assert_array_equal(classes_of(ds.x_train[:, 0, 3, 3]), ds.y_train)


def test_seeds_and_subsamples_are_deterministic(data_dir):
    a = make_dataset("mnist-halves-diff", data_dir, seed=9, n_train=40, n_test=10)
    b = make_dataset("mnist-halves-diff", data_dir, seed=9, n_train=40, n_test=10)
    c = make_dataset("mnist-halves-diff", data_dir, seed=10, n_train=40, n_test=10)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (40, 1, 28, 28) and a.x_test.shape == (10, 1, 28, 28)
    # A subsample of a real set is a subset of it, in source order.
    full, sub = make_dataset("mnist", data_dir), make_dataset("mnist", data_dir, n_train=25)
    ids = sub.x_train[:, 0, 0, 0]
    assert len(set(ids)) == 25 and np.all(np.diff(ids.astype(int)) > 0)
    np.testing.assert_array_equal(sub.y_train, full.y_train[ids])
    with pytest.raises(ValueError, match="n_train=101 asks for more"):
        make_dataset("mnist", data_dir, n_train=101)


def test_preview_colours_and_feature_preview(tmp_path):
    two = np.zeros((2, 1, 1), dtype=np.uint8)
    two[0] = 255
    np.testing.assert_array_equal(to_rgb(two)[0, 0], [0, 0, 1])  # channel 0 is blue
    two = two[::-1].copy()
    np.testing.assert_array_equal(to_rgb(two)[0, 0], [0, 1, 0])  # channel 1 is green
    poly = make_dataset("polynomial", "/nonexistent", n_train=10, n_test=10)
    preview_grid(poly, tmp_path / "p.png")  # scatter panels of targets over (x, y)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dataset_command_writes_artifact_and_preview(data_dir, tmp_path):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out, png = tmp_path / "ds.npz", tmp_path / "grid.png"
    args = parser.parse_args(
        ["dataset", "mnist-stack-diff", "--data-dir", str(data_dir), "--seed", "3", "--n-train", "50",
         "--out", str(out), "--preview", str(png)]
    )  # fmt: skip
    assert args.func(args) == 0
    ds = load_dataset(out)
    expected = make_dataset("mnist-stack-diff", data_dir, seed=3, n_train=50)
    np.testing.assert_array_equal(ds.x_train, expected.x_train)
    np.testing.assert_array_equal(ds.y_test, expected.y_test)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fetch = parser.parse_args(["fetch-data", "mnist-halves-same", "lines", "--data-dir", str(data_dir)])
    assert fetch.func(fetch) == 0
