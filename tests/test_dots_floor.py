"""The receptive-field floor of the dots regression (nnstructure.probe.dots_floor)."""

import numpy as np
import pytest

from nnstructure.probe.dots_floor import interaction_range, local_net_mse_floor, receptive_field


def test_the_thesis_net_sees_11_pixels_and_pairs_up_to_16_4_pixels_apart():
    assert receptive_field(5, 3) == 11
    assert receptive_field(0) == 1
    assert interaction_range(11) * 64 == pytest.approx(16.4)


def test_a_window_that_holds_every_pair_leaves_no_error():
    # centres lie in [0.05, 0.95]: a range of 0.9 per axis holds every pair
    assert local_net_mse_floor(receptive_field_px=60, n_pairs=5000) == 0.0


def test_the_floor_falls_with_the_receptive_field_and_with_positions():
    kw = dict(n_pairs=40_000, degree=4)
    floors = [local_net_mse_floor(rf, "absolute", **kw) for rf in (5, 11, 21)]
    assert floors[0] > floors[1] > floors[2] > 0
    none = local_net_mse_floor(11, "none", **kw)
    assert floors[1] < none < 1


def test_without_positions_the_floor_is_the_variance_of_the_distant_pairs():
    rng = np.random.default_rng(0)
    n = 40_000
    p1, p2 = rng.uniform(0.05, 0.95, (n, 2)), rng.uniform(0.05, 0.95, (n, 2))
    d = np.linalg.norm(p1 - p2, axis=1)
    far = np.abs(p1 - p2).max(axis=1) > interaction_range(11)
    expected = np.sum((d[far] - d[far].mean()) ** 2) / n / d.var()
    assert local_net_mse_floor(11, "none", n_pairs=n, seed=0) == pytest.approx(expected, rel=1e-12)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="positions"):
        local_net_mse_floor(positions="some")
    with pytest.raises(ValueError, match="n_pairs"):
        local_net_mse_floor(n_pairs=10)
