"""Chapter 3's thesis tables and figures, one file each named as in the thesis: which rows each holds, which a
config makes (the two agree), and what the report writes."""

from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import capture_figures, clusterability_rows, random_init_rows, shuffle_rows

from nnstructure import workflow as wc
from nnstructure.report import ch3_items
from nnstructure.report import index as ix
from nnstructure.report.cli import write_report

ROOT = Path(__file__).resolve().parents[1]


def test_item_file_names_follow_the_thesis_numbering():
    assert ch3_items.item_stem("Table 3.1") == "table_3_1"
    assert ch3_items.item_stem("Table A.11") == "table_a_11"
    assert ch3_items.item_stem("Figure C.14") == "fig_c_14"
    assert ch3_items.item_files("Table 3.4") == ["tables/table_3_4.md", "tables/table_3_4.parquet"]
    assert ch3_items.item_files("Figure 3.2") == ["figures/fig_3_2.png"]
    assert set(ch3_items.ITEMS) <= set(ix.load_thesis_items()["id"])


def rows_of_config(config: dict) -> pd.DataFrame:
    """One row per results row the workflow would write for ``config`` (its labels as the row step writes them,
    the dropout rate as the checkpoint records it, and shuffle statistics where shuffles are drawn)."""
    rows = []
    for cell in wc.analysis_cells(config, "clusterability"):
        settings = wc.clustering_settings(config, cell.entry)
        labels = wc.row_labels(config, cell)
        kind = labels["kind"]
        dropout = 0.0 if kind == "pretrained" else float(wc.network_settings(config, cell.network).get("dropout") or 0)
        shuffles = settings["shuffle"] if settings["n_shuffles"] > 0 else ["none"]
        for k in settings["k"]:
            for shuffle in shuffles:
                rows.append({**labels, "k": k, "shuffle": shuffle, "dropout": dropout, "ncut": 9.0,
                             "n_shuffles": settings["n_shuffles"],
                             "shuffle_mean": None if shuffle == "none" else 10.0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("preset", ["config.yaml", "config/paper.yaml", "config/mnist-a1.yaml"])
def test_a_config_declares_exactly_the_items_its_rows_make(preset):
    config = ix.load_preset(ROOT / preset, ROOT / ix.SCHEMA)
    rows = rows_of_config(config)
    from_rows = {item: sorted(selected["experiment"].unique()) for item, selected in ch3_items.rows_items(rows).items()}
    from_config = {item: sorted(entries) for item, entries in
                   ch3_items.config_items(config, wc.analysis_cells(config, "clusterability")).items()}
    assert from_rows == from_config
    if preset == "config.yaml":
        assert set(from_config) == {"Table A.1", "Figure 3.2", "Figure 3.3", "Figure A.1"}


def test_the_cached_items_are_the_config_items_of_that_config_content():
    config = ix.load_preset(ROOT / "config.yaml", ROOT / ix.SCHEMA)
    first = ch3_items.config_items_cached(config)
    assert first == ch3_items.config_items(config)
    first["Table A.1"].append("changed by the caller")  # a copy: the cache keeps its own
    assert ch3_items.config_items_cached(config) == ch3_items.config_items(config)
    config["clusterability"]["networks"].pop("mlp-init")  # a changed config is computed afresh
    assert ch3_items.config_items_cached(config) == ch3_items.config_items(config)
    assert "Figure A.1" not in ch3_items.config_items_cached(config)


def test_the_paper_preset_splits_experiments_as_the_thesis():
    config = ix.load_preset(ROOT / "config/paper.yaml", ROOT / ix.SCHEMA)
    rows = rows_of_config(config)
    items = ch3_items.rows_items(rows)
    # Tables 3.2 and 3.3: the same experiments, without and with dropout
    assert (items["Table 3.2"]["dropout"] == 0).all() and (items["Table 3.3"]["dropout"] > 0).all()
    assert set(items["Table 3.2"]["experiment"]) == set(items["Table 3.3"]["experiment"])
    # Tables 3.7-3.10: one k each
    assert {item: set(items[item]["k"]) for item in ("Table 3.7", "Table 3.8", "Table 3.9", "Table 3.10")} == {
        "Table 3.7": {4}, "Table 3.8": {7}, "Table 3.9": {10}, "Table 3.10": {2}}
    # Figure 3.2 before pruning, 3.3 after; 3.9 a subset of 3.8
    assert not items["Figure 3.2"]["pruned"].any() and items["Figure 3.3"]["pruned"].all()
    assert set(items["Figure 3.9"]["reg"]) == {"none", "dropout"} < set(items["Figure 3.8"]["reg"])
    assert set(items["Figure 3.9"].index) <= set(items["Figure 3.8"].index)
    assert set(items["Figure A.2"]["arch"]) == {"cnn"} and (items["Figure A.2"]["kind"] == "random_init").all()


@pytest.fixture
def fixture_rows() -> pd.DataFrame:
    rows = clusterability_rows()
    return rows.assign(table="A.1", condition=rows["reg"], dropout=(rows["reg"] == "dropout") * 0.5)


def test_the_report_writes_each_item_under_its_thesis_name_with_a_caption(tmp_path, monkeypatch, fixture_rows):
    drawn = capture_figures(monkeypatch)
    random_init = random_init_rows().assign(table="A.1-fig", experiment="mlp-init")
    write_report(fixture_rows, tmp_path, shuffles=shuffle_rows(fixture_rows), random_init=random_init, preset="default")
    table = pd.read_parquet(tmp_path / "tables" / "table_a_1.parquet")
    # Table A.1 holds every trained cell of the A.1 rows: dropout unpruned/pruned (layer and nonzero), L1 pruned
    assert len(table) == 4 and set(table["reg"]) == {"dropout", "l1"}
    text = (tmp_path / "tables" / "table_a_1.md").read_text()
    assert text.startswith("# Table A.1\n")
    assert ("Table A.1: Clusterability of MLPs trained on MNIST. Ours (preset 'default', entries mlp-mnist): "
            "5 networks (2/3 per cell), 2 training + 1 pruning epochs, 50 shuffles; the thesis: 5 networks per cell, "
            "50 shuffles.") in text
    # Figure 3.2: the unpruned networks' layer-shuffle points only (3 dropout networks); 3.3 the pruned ones (3 + 2)
    for stem, n_points, phase in (("fig_3_2", 3, "unpruned"), ("fig_3_3", 5, "pruned")):
        fig = drawn[stem]
        heading = fig._suptitle.get_text().replace("\n", " ")
        title = "without pruning" if phase == "unpruned" else "with pruning"
        assert heading.startswith(f"Figure 3.{stem[-1]}: Clusterability of MLPs trained {title}. Ours (preset 'default'")
        assert f"{phase} networks" in heading
        points = sum(len(bars.lines[0].get_xdata()) for bars in fig.axes[0].containers)  # one errorbar per condition
        assert points == n_points, stem
    # Figures A.1 and A.2: one architecture each
    assert drawn["fig_a_1"].axes[0].get_title().startswith("mlp:") and len(drawn["fig_a_1"].axes) == 1
    assert drawn["fig_a_2"].axes[0].get_title().startswith("cnn:")
    assert not (tmp_path / "figures" / "fig_a_3.png").exists()
    for stem in ("fig_3_2", "fig_3_3", "fig_a_1", "fig_a_2"):
        assert (tmp_path / "figures" / f"{stem}.png").stat().st_size > 0


def test_dataset_figures_are_the_halves_and_stack_datasets_the_entries_learnt_from():
    config = ix.load_preset(ROOT / "config/paper.yaml", ROOT / ix.SCHEMA)
    figures = ch3_items.config_dataset_figures(config)
    assert figures == {"Figure 3.4": ["fashion-halves-diff", "fashion-halves-same", "mnist-halves-diff",
                                      "mnist-halves-same"],
                       "Figure 3.14": ["fashion-stack-diff", "fashion-stack-same", "mnist-stack-diff",
                                       "mnist-stack-same"]}
    files = [f"datasets/{name}.npz" for names in figures.values() for name in names] + ["datasets/mnist.npz"]
    assert {item: [Path(f).stem for f in paths] for item, paths in ch3_items.paths_dataset_figures(files).items()} == figures
    default = ix.load_preset(ROOT / "config.yaml", ROOT / ix.SCHEMA)
    assert ch3_items.config_dataset_figures(default) == {}


def test_figure_3_4_draws_class_3_samples_one_row_per_dataset(tmp_path, monkeypatch, fixture_rows):
    import numpy as np

    from nnstructure.data.dataset import Dataset, save_dataset

    rng = np.random.default_rng(0)
    files = []
    for name in ("mnist-halves-same", "mnist-halves-diff"):
        y = np.arange(40) % 10
        x = np.zeros((40, 1, 6, 6), np.uint8)
        x[:, 0, 0, 0] = y * 20  # the class, readable from the first pixel
        x[:, 0, 1:, 1:] = rng.integers(0, 255, (40, 5, 5))
        save_dataset(Dataset(name, x, y, x[:4], y[:4], "classification", 10, {}), tmp_path / f"{name}.npz")
        files.append(tmp_path / f"{name}.npz")
    drawn = capture_figures(monkeypatch)
    write_report(fixture_rows, tmp_path / "report", preset="paper", datasets=files)
    fig = drawn["fig_3_4"]
    rows = [ax for ax in fig.axes if ax.get_images()]
    assert len(rows) == 2 * 4  # 4 samples of class 3 in each dataset
    assert all(round(ax.get_images()[0].get_array()[0, 0, 0] * 255) == 60 for ax in rows)
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")] == ["mnist-halves-diff",
                                                                                          "mnist-halves-same"]
    assert fig._suptitle.get_text().startswith("Figure 3.4: Samples from ‘halves’ datasets, all of class 3. Ours")
    assert not (tmp_path / "report" / "figures" / "fig_3_14.png").exists()
