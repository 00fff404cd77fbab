"""Each figure function writes a readable, non-blank PNG."""

import matplotlib.image
import numpy as np
import pytest

from nnstructure.report.figures import plot_ncut_vs_shuffles, plot_random_init, plot_shuffle_distributions
from nnstructure.report.reference import load_random_init_ranges
from report_fixtures import clusterability_rows, random_init_rows, shuffle_rows

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(path, min_width=300, min_height=200):
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height
    assert image[..., :3].std() > 0.01  # something was drawn
    assert not list(path.parent.glob(".*.tmp*"))  # atomic write left no temporary file
    return image


def test_ncut_vs_shuffles(tmp_path):
    rows = clusterability_rows()
    path = tmp_path / "fig.png"
    plot_ncut_vs_shuffles(rows[rows.shuffle == "layer"], path)
    _check_png(path)


def test_ncut_vs_shuffles_without_shuffle_statistics(tmp_path):
    rows = clusterability_rows().assign(shuffle_mean=np.nan)
    path = tmp_path / "fig.png"
    plot_ncut_vs_shuffles(rows, path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="lacks column"):
        plot_ncut_vs_shuffles(rows.drop(columns=["shuffle_std"]), path)


def test_shuffle_distributions_panel_grid(tmp_path):
    rows = clusterability_rows()
    one, three = tmp_path / "one.png", tmp_path / "three.png"
    plot_shuffle_distributions(shuffle_rows(rows), rows, three)
    plot_shuffle_distributions(shuffle_rows(rows), rows, one, max_networks=1)
    wide = _check_png(three)
    narrow = _check_png(one, min_width=200)
    assert wide.shape[1] > 2 * narrow.shape[1]  # three panels side by side vs one


def test_random_init(tmp_path):
    for reference in (None, (10.2, 10.4), load_random_init_ranges()):
        path = tmp_path / "random.png"
        plot_random_init(random_init_rows(), path, reference_range=reference)
        _check_png(path)
    single = random_init_rows().iloc[:1]  # one network: no KDE, still a histogram
    plot_random_init(single, tmp_path / "single.png")
    _check_png(tmp_path / "single.png", min_width=200)
