"""kmeans_fast gives sklearn.cluster.k_means's labels and consumes the same random numbers."""

import numpy as np
import pytest
from sklearn.cluster import k_means

from nnstructure.cluster.kmeans import kmeans_fast


@pytest.mark.parametrize("seed", range(6))
def test_same_labels_and_random_stream_as_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = [2, 3, 5, 8, 12, 16][seed]
    # overlapping blobs plus noise: several starts end in different local optima
    centres = rng.normal(size=(k, 6)) * 2
    X = centres[rng.integers(0, k, 400)] + rng.normal(size=(400, 6))
    ours_rs, ref_rs = np.random.RandomState(seed), np.random.RandomState(seed)
    ours = kmeans_fast(X, k, 10, ours_rs)
    ref = k_means(X, k, n_init=10, random_state=ref_rs)[1]
    np.testing.assert_array_equal(ours, ref)
    assert ours_rs.random_sample() == ref_rs.random_sample()  # the stream continues identically


def test_duplicate_points_fewer_distinct_than_k():
    X = np.repeat(np.eye(3), 10, axis=0)  # 3 distinct points, k = 5: sklearn relocates empty clusters
    ref = k_means(X, 5, n_init=4, random_state=np.random.RandomState(0))[1]
    ours = kmeans_fast(X, 5, 4, np.random.RandomState(0))
    np.testing.assert_array_equal(ours, ref)
