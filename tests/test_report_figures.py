"""Each chapter-3 figure draws the data it is given (read back from the matplotlib Figure) and writes a PNG."""

import numpy as np
import pandas as pd
import pytest

from nnstructure.report.figures import figure_3_7_networks, plot_figure_3_7, plot_ncut_vs_shuffles, plot_random_init
from nnstructure.report.reference import load_random_init_ranges
from report_fixtures import bar_heights, capture_figures, clusterability_rows, random_init_rows, visible_axes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def drawn(monkeypatch):
    return capture_figures(monkeypatch)


def _written(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not list(path.parent.glob(".*.tmp*"))  # atomic write left no temporary file


def _legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _histogram_area(ax) -> list[float]:
    """The area under every histogram on ``ax`` (1 for a density)."""
    return [sum(p.get_height() * p.get_width() for p in container) for container in ax.containers]


def test_ncut_vs_shuffles(tmp_path, drawn):
    rows = clusterability_rows()
    plot_ncut_vs_shuffles(rows[rows.shuffle == "layer"], tmp_path / "fig.png")
    _written(tmp_path / "fig.png")
    ax = drawn["fig"].axes[0]
    # one point per network: (its shuffles' mean n-cut, its n-cut), grouped by condition
    points = {c.get_label(): (list(c.lines[0].get_xdata()), list(c.lines[0].get_ydata())) for c in ax.containers}
    assert points == {"dropout, pruned (n=3)": ([9.0, 9.2, 9.4], [8.0, 8.2, 8.4]),
                      "dropout, unpruned (n=3)": ([10.3] * 3, [10.0, 10.1, 10.2]),
                      "l1, pruned (n=2)": ([2.7, 2.7], [10.0, 11.0])}
    # p-values at the floor 1/51 (5 networks) are counted in the title; the others label their points
    assert sorted(t.get_text() for t in ax.texts) == ["0.059", "1", "1"]  # 3/51 and the two L1 networks' 1.0
    assert ax.get_title().startswith("Clusterability vs. shuffles: 5 of 8 networks beat all their shuffles\n"
                                     "(p at its floor 1/(n+1) = 0.02")
    diagonal = next(line for line in ax.lines if line.get_label() == "y = x")
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())


def test_ncut_vs_shuffles_without_shuffle_statistics(tmp_path, drawn):
    rows = clusterability_rows().assign(shuffle_mean=np.nan)
    plot_ncut_vs_shuffles(rows, tmp_path / "fig.png")
    _written(tmp_path / "fig.png")
    ax = drawn["fig"].axes[0]
    assert [t.get_text() for t in ax.texts] == ["no networks with shuffle statistics"] and not ax.containers
    with pytest.raises(ValueError, match="lacks column"):
        plot_ncut_vs_shuffles(rows.drop(columns=["shuffle_std"]), tmp_path / "fig.png")


def topology_tables():
    """Shuffles and rows of five pruned networks, as the workflow aggregates them: two have layer and nonzero
    shuffles (entry 'topology', conditions none and dropout), the others one kind only."""
    networks = [("topology", "none", 0, ("layer", "nonzero"), 8.0), ("topology", "dropout", 0, ("layer", "nonzero"), 7.5),
                ("mlp-mnist", "none", 0, ("layer",), 8.1), ("mlp-mnist", "none", 1, ("layer",), 8.2),
                ("odd", "none", 0, ("nonzero",), 9.0)]
    rows, shuffles = [], []
    for i, (experiment, condition, seed, kinds, ncut) in enumerate(networks):
        keys = {"experiment": experiment, "condition": condition, "seed": seed, "arch": "mlp", "dataset": "mnist",
                "reg": "dropout" if condition == "dropout" else "none", "init": "glorot", "pruned": True,
                "phase": "pruned", "k": 12}
        for j, kind in enumerate(kinds):
            rows.append({**keys, "shuffle": kind, "ncut": ncut})
            shuffles += [{**keys, "shuffle": kind, "index": n, "ncut": 9.0 + i + 0.5 * j + 0.01 * n} for n in range(20)]
    return pd.DataFrame(rows), pd.DataFrame(shuffles)


def test_figure_3_7_draws_exactly_the_networks_with_both_shuffle_kinds(tmp_path, drawn):
    rows, shuffles = topology_tables()
    networks = figure_3_7_networks(shuffles)
    assert list(zip(networks["experiment"], networks["condition"], networks["seed"])) == [
        ("topology", "dropout", 0), ("topology", "none", 0)]
    plot_figure_3_7(shuffles, rows, tmp_path / "fig_3_7.png")
    _written(tmp_path / "fig_3_7.png")
    assert drawn["fig_3_7"]._suptitle.get_text().startswith("Figure 3.7: ")
    panels = visible_axes(drawn["fig_3_7"])
    assert [ax.get_title() for ax in panels] == ["dropout, seed 0", "none, seed 0"]
    for ax, condition, ncut in zip(panels, ("dropout", "none"), (7.5, 8.0)):
        # the network's own n-cut as a vertical line, and a density of its 20 shuffled n-cuts per kind
        assert _legend(ax) == ["layer (n=20)", "nonzero (n=20)", f"network ({ncut:.3f})"]
        line = next(line for line in ax.lines if line.get_label().startswith("network"))
        assert list(line.get_xdata()) == [ncut, ncut]
        assert _histogram_area(ax) == pytest.approx([1.0, 1.0])
        for container, kind in zip(ax.containers, ("layer", "nonzero")):
            values = shuffles.loc[(shuffles.experiment == "topology") & (shuffles.condition == condition)
                                  & (shuffles.shuffle == kind), "ncut"]
            assert container[0].get_x() == pytest.approx(values.min())
            assert container[-1].get_x() + container[-1].get_width() == pytest.approx(values.max())


def test_figure_3_7_needs_both_shuffle_kinds(tmp_path):
    rows, shuffles = topology_tables()
    layer_only = shuffles[shuffles["shuffle"] == "layer"]
    assert figure_3_7_networks(layer_only).empty
    with pytest.raises(ValueError, match="both layer and nonzero"):
        plot_figure_3_7(layer_only, rows, tmp_path / "fig.png")


def test_random_init(tmp_path, drawn):
    data = random_init_rows()
    ranges = load_random_init_ranges().set_index("arch")
    for name, reference, spans in (("none", None, {}), ("one", (10.2, 10.4), {"cnn": (10.2, 10.4), "mlp": (10.2, 10.4)}),
                                   ("thesis", load_random_init_ranges(),
                                    {a: tuple(ranges.loc[a, ["ncut_min", "ncut_max"]]) for a in ("cnn", "mlp")})):
        plot_random_init(data, tmp_path / f"{name}.png", reference_range=reference)
        _written(tmp_path / f"{name}.png")
        axes = drawn[name].axes
        assert [ax.get_title() for ax in axes] == [f"{a}: n-cuts of randomly initialised networks" for a in ("cnn", "mlp")]
        for ax, arch, n in zip(axes, ("cnn", "mlp"), (30, 40)):
            assert _histogram_area(ax) == pytest.approx([1.0])  # a density of the arch's n-cuts
            values = data.loc[data.arch == arch, "ncut"]
            container = ax.containers[0]
            assert container[0].get_x() == pytest.approx(values.min())
            assert container[-1].get_x() + container[-1].get_width() == pytest.approx(values.max())
            assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 200  # the KDE
            if arch in spans:
                low, high = spans[arch]
                assert _legend(ax) == [f"thesis range {low:.2f}-{high:.2f}", f"ours (n={n})"]
                shade = ax.patches[0]
                assert (shade.get_x(), shade.get_x() + shade.get_width()) == pytest.approx((low, high))
            else:
                assert _legend(ax) == [f"ours (n={n})"]
    plot_random_init(data.iloc[:1], tmp_path / "single.png")  # one network: no KDE, still a histogram
    ax = drawn["single"].axes[0]
    assert _legend(ax) == ["ours (n=1)"] and not ax.lines and bar_heights(ax) and _histogram_area(ax) == pytest.approx([1.0])
