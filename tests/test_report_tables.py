"""summarize_clusterability and the thesis-style Markdown rendering, checked by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from nnstructure.report.tables import format_count, format_mean_sd, format_tick, summarize_clusterability, to_markdown
from report_fixtures import clusterability_rows


@pytest.fixture(scope="module")
def summary():
    return summarize_clusterability(clusterability_rows())


def _cell(summary, **keys):
    mask = np.ones(len(summary), dtype=bool)
    for column, value in keys.items():
        mask &= (summary[column] == value).to_numpy()
    assert mask.sum() == 1, summary[mask]
    return summary[mask].iloc[0]


def test_cells_split_by_shuffle_kind_and_phase(summary):
    # dropout: pruned/layer, pruned/nonzero, unpruned/layer; l1: pruned/layer
    assert len(summary) == 4
    assert sorted(summary.n_networks.tolist()) == [2, 3, 3, 3]


def test_pruned_dropout_cell_by_hand(summary):
    cell = _cell(summary, reg="dropout", pruned=True, shuffle="layer")
    assert cell.n_networks == 3
    assert cell.ncut == pytest.approx(8.2)
    assert cell.ncut_std == pytest.approx(0.2)  # sqrt((0.04 + 0 + 0.04) / 2)
    assert cell.shuffle_mean == pytest.approx(9.2)
    assert cell.shuffle_std == pytest.approx(0.04)
    assert cell.n_beat_all == 2  # the third network has p = 3/51
    assert cell.train_accuracy == pytest.approx(0.97)
    assert cell.train_loss == pytest.approx(0.1) and math.isnan(cell.test_loss)
    assert cell.unpruned_ncut == pytest.approx(10.1)
    assert cell.unpruned_ncut_std == pytest.approx(0.1)
    assert cell.settings == "2 epochs + 1 pruning"


def test_nonzero_and_unpruned_cells(summary):
    nonzero = _cell(summary, reg="dropout", pruned=True, shuffle="nonzero")
    assert nonzero.n_beat_all == 3 and nonzero.shuffle_mean == pytest.approx(8.5)
    unpruned = _cell(summary, reg="dropout", pruned=False)
    assert math.isnan(unpruned.unpruned_ncut)
    l1 = _cell(summary, reg="l1")
    assert l1.n_beat_all == 0 and l1.ncut == pytest.approx(10.5) and l1.ncut_std == pytest.approx(math.sqrt(0.5))
    assert math.isnan(l1.unpruned_ncut)  # no unpruned L1 rows


def test_single_network_has_nan_sd_and_rows_without_shuffles_never_beat_all():
    rows = clusterability_rows().iloc[[0]].copy()
    rows["n_shuffles"] = 0
    rows["shuffle"] = "none"
    rows[["shuffle_mean", "shuffle_std", "p_value"]] = np.nan
    cell = summarize_clusterability(rows).iloc[0]
    assert cell.n_networks == 1 and math.isnan(cell.ncut_std) and cell.n_beat_all == 0


def test_bad_input_is_named():
    rows = clusterability_rows()
    with pytest.raises(ValueError, match="lack column"):
        summarize_clusterability(rows.drop(columns=["epochs_variant"]))
    with pytest.raises(ValueError, match="repeat a"):
        summarize_clusterability(pd.concat([rows, rows.iloc[[0]]]))


def test_formatting_helpers():
    assert format_mean_sd(9.2471, 0.0391) == "9.247 ± 0.039"
    assert format_mean_sd(10.304, 0.112) == "10.30 ± 0.11"
    assert format_mean_sd(8.0, math.nan) == "8.000"
    assert format_mean_sd(math.nan, 0.1) == ""
    assert format_count(5, 5) == "5/5" and format_count(np.int64(0), 10) == "0/10" and format_count(None, 5) == ""
    assert (format_tick(True), format_tick(np.False_), format_tick(None)) == ("✓", "×", "")


@pytest.mark.parametrize("tabulate_available", [True, False])
def test_markdown_renders_thesis_cells(summary, monkeypatch, tabulate_available):
    if not tabulate_available:
        import builtins

        real_import = builtins.__import__

        def no_tabulate(name, *args, **kwargs):
            if name == "tabulate":
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_tabulate)
    text = to_markdown(summary, caption="Table 1: test cells.")
    lines = text.strip().splitlines()
    header = lines[0]
    for label in ("Reg. method", "Pruning?", "Unp. n-cuts", "N-cut", "Dist. n-cuts", "Beat all shuffles", "Shuffle"):
        assert label in header
    assert "Arch." not in header  # constant keys are dropped
    assert "8.20 ± 0.20" in text  # mean ± s.d. over the three pruned dropout networks
    assert "10.10 ± 0.10" in text  # their unpruned n-cut
    assert "9.200 ± 0.040" in text
    assert "2/3" in text and "3/3" in text and "0/2" in text
    assert "✓" in text and "×" in text
    assert lines[-1] == "Table 1: test cells."
    # header, separator, 4 cells, blank line, caption
    assert len(lines) == 2 + 4 + 2


def test_markdown_column_selection(summary):
    text = to_markdown(summary, columns=["Reg. method", "Beat all shuffles"])
    assert text.splitlines()[0].count("|") == 3
    with pytest.raises(ValueError, match="not in the table"):
        to_markdown(summary, columns=["nope"])
