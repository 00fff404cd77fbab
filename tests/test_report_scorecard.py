"""The scorecard matches our cells to thesis rows and judges agreement as documented."""

import math

import pandas as pd
import pytest

from nnstructure.report.reference import load_random_init_ranges, load_thesis_reference
from nnstructure.report.scorecard import random_init_scorecard, scorecard, scorecard_markdown
from nnstructure.report.tables import summarize_clusterability
from report_fixtures import clusterability_rows, random_init_rows, single_row


@pytest.fixture(scope="module")
def card():
    return scorecard(summarize_clusterability(clusterability_rows()), load_thesis_reference())



def test_pruned_dropout_matches_a1_and_table_3_3(card):
    pruned = card[(card.reg == "dropout") & card.pruned & (card.shuffle == "layer")]
    assert set(pruned.table) == {"A.1", "3.3"}
    ncut = single_row(card, table="A.1", reg="dropout", pruned=True, metric="ncut")
    # ours 8.2 (mean of 8.0, 8.2, 8.4), thesis 8.350 with shuffle s.d. 0.039
    assert ncut.ours == pytest.approx(8.2) and ncut.theirs == 8.350
    assert ncut["diff"] == pytest.approx(-0.15)
    assert ncut.diff_in_shuffle_sd == pytest.approx(-0.15 / 0.039)
    assert not ncut.agrees  # 3.8 s.d. away
    mean = single_row(card, table="A.1", reg="dropout", pruned=True, metric="shuffle_mean")
    assert mean.diff_in_shuffle_sd == pytest.approx((9.2 - 9.247) / 0.039) and mean.agrees
    beat = single_row(card, table="A.1", reg="dropout", pruned=True, metric="frac_beat_all")
    assert (beat.ours, beat.theirs) == (pytest.approx(2 / 3), 1.0) and beat.agrees
    acc = single_row(card, table="A.1", reg="dropout", pruned=True, metric="test_accuracy")
    assert acc["diff"] == pytest.approx(0.97 - 0.979) and acc.agrees
    # Table 3.3 has no shuffle statistics: the scale falls back to its s.d. over networks (0.046).
    ncut33 = single_row(card, table="3.3", metric="ncut")
    assert ncut33.scale == 0.046 and "over networks" in ncut33.scale_source
    assert ncut33.diff_in_shuffle_sd == pytest.approx(-0.15 / 0.046)
    spread = single_row(card, table="3.3", metric="ncut_std")
    assert spread.ours == pytest.approx(0.2) and not spread.agrees  # ratio 4.3
    assert (ncut33.ours_n_networks, ncut33.theirs_n_networks, ncut33.ours_n_shuffles, ncut33.theirs_n_shuffles) == (3, 5, 50, 50)


def test_l1_cell_and_metrics_absent_in_thesis(card):
    l1 = card[card.reg == "l1"]
    assert set(l1.table) == {"A.1"}
    # A.1 prints no losses, so our losses are not compared there.
    assert not {"train_loss", "test_loss", "p_value"} & set(l1.metric)
    ncut = single_row(card, reg="l1", metric="ncut")
    assert ncut["diff"] == pytest.approx(10.5 - 10.063) and ncut.agrees  # 1.3 s.d.


def test_unmatched_cells_are_kept(card):
    nonzero = card[card.shuffle == "nonzero"]
    assert len(nonzero) > 0 and (nonzero.table == "").all() and nonzero.theirs.isna().all()
    assert nonzero.agrees.isna().all()
    assert single_row(card, shuffle="nonzero", metric="shuffle_mean").ours == pytest.approx(8.5)
    # A cell the thesis never ran (cnn on 'lines') is also listed.
    rows = clusterability_rows()
    rows["arch"] = "cnn"
    rows["dataset"] = "lines"
    other = scorecard(summarize_clusterability(rows))
    assert (other.table == "").all() and len(other) > 0


def test_k_and_epochs_variant_are_keys():
    rows = clusterability_rows()
    rows = rows[(rows.reg == "dropout") & rows.pruned & (rows.shuffle == "layer")].copy()
    rows["k"] = 4
    rows["n_shuffles"] = 320  # also the p-value floor changes; irrelevant to matching
    card = scorecard(summarize_clusterability(rows))
    assert set(card.table) == {"3.7"}
    assert single_row(card, metric="ncut").theirs == 1.840
    rows["epochs_variant"] = "kilo-epoch"
    assert (scorecard(summarize_clusterability(rows)).table == "").all()


def test_accuracy_and_loss_criteria_by_hand():
    summary = summarize_clusterability(clusterability_rows())
    summary = summary[(summary.reg == "l1")].copy()
    summary["dataset"] = "polynomial"
    summary[["train_accuracy", "test_accuracy"]] = math.nan
    summary["train_loss"] = 0.25  # thesis 0.211: |diff| 0.039 <= 0.25 * 0.211 = 0.053
    summary["test_loss"] = 0.25  # thesis 0.192: |diff| 0.058 > 0.048
    card = scorecard(summary)
    assert set(card.table) == {"3.1"}
    assert single_row(card, metric="train_loss").agrees
    assert not single_row(card, metric="test_loss").agrees


def test_imagenet_top1_is_compared_with_test_accuracy():
    summary = pd.DataFrame([{
        "arch": "resnet18", "dataset": "imagenet", "reg": "none", "pruned": False, "init": "pretrained", "k": 12,
        "n_shuffles": 100, "epochs_variant": "default", "shuffle": "layer", "n_networks": 1, "ncut": 7.5,
        "ncut_std": math.nan, "shuffle_mean": 8.4, "shuffle_std": 0.3, "n_beat_all": 1, "p_value": 1 / 101,
        "test_accuracy": 0.69,
    }])
    card = scorecard(summary)
    assert set(card.table) == {"A.7"}
    assert single_row(card, metric="test_accuracy").theirs == 0.682
    p = single_row(card, metric="p_value")
    assert p.theirs == 0.01 and p.agrees
    assert "frac_beat_all" not in set(card.metric)  # A.7 prints p-values, not counts


def test_random_init_scorecard():
    card = random_init_scorecard(random_init_rows(), load_random_init_ranges()).set_index("arch")
    rows = random_init_rows()
    mlp = rows[rows.arch == "mlp"].ncut
    assert card.loc["mlp", "n_networks"] == 40
    assert card.loc["mlp", "ours_mean"] == pytest.approx(mlp.mean())
    assert card.loc["mlp", "frac_in_range"] == pytest.approx(((mlp >= 10.2) & (mlp <= 10.4)).mean())
    assert card.loc["mlp", "agrees"]
    assert not card.loc["cnn", "agrees"] and card.loc["cnn", "theirs_min"] == 10.90
    other_k = random_init_rows().assign(k=4)
    assert random_init_scorecard(other_k).agrees.isna().all()


def test_markdown(card):
    text = scorecard_markdown(card, random_init_scorecard(random_init_rows()), settings_note="Preset: test.")
    first = text.split("\n\n")[1]
    assert first.startswith("We compared 4 summarised cells") and "3 matched" in first
    assert "3.3, A.1" in first and "50 shuffles" in first and "2 epochs + 1 pruning" in first
    assert "Preset: test." in first
    assert "| A.1 " in text and "8.350" in text and "-3.8" in text
    assert "nonzero shuffle" in text.split("## Cells of ours without a thesis row")[1]
    assert "10.20 - 10.40" in text
