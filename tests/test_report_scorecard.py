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


# --- coverage: compared / within / outside / not run, per chapter ----------------------------------------------


def _card_rows(rows):
    columns = ["chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"]
    card = pd.DataFrame([dict(zip(columns, r)) for r in rows], columns=columns)
    card["agrees"] = card["agrees"].astype("boolean")
    return card


def test_coverage_counts_a_small_constructed_scorecard():
    from nnstructure.report.scorecard import coverage, coverage_line

    numbers = pd.DataFrame([
        (3, "A.1", "ncut", 8.35, "left out"), (3, "A.1", "shuffle_mean", 9.247, "left out"),
        (3, "A.6", "ncut", 7.0, "GPU"), (3, "A.7", "test_accuracy", 0.682, "no data here"),
        (3, "A.1", "mean random-init n-cut", math.nan, "left out"),
        (4, "4.1", "fisher", 2.13, "left out"), (4, "4.1", "fisher", 0.91, "left out"),
        (4, "4.2", "effect", 1.105, "left out"), (4, "4.1", "fisher", 1.5, "GPU"),
        (5, "5.3-text", "episodes_rewarded_frac", 0.5, "left out"),
    ], columns=["chapter", "table", "metric", "value", "reason"])
    card = _card_rows([
        (3, "A.1", "mlp mnist", "ncut", 8.2, 8.35, -0.15, False, "", ""),
        (3, "A.1", "mlp mnist", "shuffle_mean", 9.2, 9.247, -0.047, True, "", ""),
        (3, "", "cnn lines", "ncut", 9.0, math.nan, math.nan, None, "", ""),  # no thesis row: neither judged nor covering
        (3, "A.1", "mlp random init", "mean random-init n-cut", 10.3, math.nan, math.nan, True, "", ""),
        (4, "4.1", "MLP W/N acc. drop", "fisher", 2.2, 2.13, 0.07, True, "", ""),
        (4, "4.1", "MLP W/N class range [raw]", "fisher", 2.3, 0.91, 1.39, False, "", ""),
        (4, "4.1", "MLP W/N class range [normalized]", "fisher", 0.8, 0.91, -0.11, True, "", ""),
        (4, "4.1", "MLP W/N p", "p_value", 0.01, 0.02, -0.01, None, "", ""),  # shown without a criterion
        (5, "5.3", "coinrun: rewarded episodes", "episodes_rewarded_frac", 0.52, 0.5, 0.02, True, "", ""),
    ])
    cov = coverage(card, numbers).set_index("chapter")
    assert cov.loc[3, ["thesis_numbers", "compared", "within", "outside", "not_run"]].tolist() == [5, 3, 2, 1, 2]
    assert cov.loc[3, ["not_run_GPU", "not_run_no data here", "not_run_left out"]].tolist() == [1, 1, 0]
    # both class-range definitions are judged, but cover the thesis's one number once; 4.2's effect is not run
    assert cov.loc[4, ["thesis_numbers", "compared", "within", "outside", "not_run"]].tolist() == [4, 3, 2, 1, 2]
    assert cov.loc[4, ["not_run_GPU", "not_run_left out"]].tolist() == [1, 1]
    # chapter 5's card says "5.3" for the thesis's "5.3-text": matched on metric and value
    assert cov.loc[5, ["compared", "within", "not_run"]].tolist() == [1, 1, 0]
    assert coverage_line(cov.reset_index().iloc[0]) == (
        "Chapter 3: 3 compared, 2 within, 1 outside; 2 of the thesis's 5 numbers not run "
        "(1 GPU, 1 no data here, 0 left out).")


def test_thesis_numbers_and_their_reasons():
    from nnstructure.report.scorecard import coverage, thesis_numbers

    numbers = thesis_numbers()
    c3 = numbers[numbers.chapter == 3]
    assert set(c3[c3.table == "A.6"].reason) == {"GPU"} and set(c3[c3.table == "A.7"].reason) == {"no data here"}
    assert set(c3[c3.table == "A.1"].reason) == {"left out"}
    a1 = load_thesis_reference().query("table == 'A.1'")
    # A.1 prints n-cut, its s.d., unpruned n-cut, shuffle mean and s.d., beat-all counts and accuracies per row
    assert len(c3[(c3.table == "A.1") & (c3.metric == "ncut")]) == len(a1)
    assert len(c3[(c3.table == "A.1") & (c3.metric == "frac_beat_all")]) == len(a1)
    ch4 = numbers[numbers.chapter == 4]
    assert len(ch4) < 800  # B.1 and B.2 repeat Table 4.1's and 4.2's numbers: counted once
    assert set(ch4[ch4.table.isin(["4.3", "4.4", "4.5", "4.6"])].reason) == {"GPU"}
    assert (ch4.reason == "no data here").sum() > 0  # the ImageNet rows of 4.1, 4.2
    # on the fixture scorecard, every judged comparison of chapter 3 is counted, and what it covers is not 'not run'
    from nnstructure.report import ch3

    card = ch3.scorecard({"clusterability": clusterability_rows()}, load_thesis_reference())
    cov = coverage(card, numbers).set_index("chapter")
    judged = card["agrees"].notna()
    assert cov.loc[3, "compared"] == judged.sum() and cov.loc[3, "within"] == card["agrees"].fillna(False).sum()
    # here every comparison with a thesis value is another thesis number (A.1's beat-all share 1.000 twice: two rows)
    assert cov.loc[3, "not_run"] == len(c3) - card["theirs"].notna().sum() == len(c3) - 22


def test_chapter_4_coverage_counts_each_thesis_number_of_the_networks_run_once():
    """Both class-range definitions are compared with one thesis number; equal values of other networks'
    numbers (another table row with the same Fisher statistic) are not taken for it."""
    import numpy as np

    from nnstructure.report import ch4
    from nnstructure.report.scorecard import coverage, thesis_numbers
    from nnstructure.specialization.statistics import combined_statistics, network_statistics, subcluster_percentiles
    from test_specialization_report import _results

    rng = np.random.default_rng(0)
    frames = [_results(rng, "mlp-mnist", "MLP, MNIST", p, 16, 0, 0.8) for p in ch4.PARTITION_ORDER]
    card = ch4.scorecard({"specialization": combined_statistics(network_statistics(subcluster_percentiles(
        pd.concat(frames, ignore_index=True))))})
    numbers = thesis_numbers()
    ch4_numbers = numbers[numbers.chapter == 4]
    mlp = ch4_numbers[ch4_numbers.cell.str.startswith("MLP, MNIST|")]
    # 4.1: 4 metrics x 4 partitionings; 4.2: effect and s.e.; B.1/B.2 add only their p-values
    assert len(mlp) == 16 + 32 + 8 + 8
    cov = coverage(card, numbers).set_index("chapter")
    assert cov.loc[4, "not_run"] == len(ch4_numbers) - len(mlp)
    assert cov.loc[4, "not_run_left out"] == (ch4_numbers.reason == "left out").sum() - len(mlp)  # the CNN's
    assert cov.loc[4, "compared"] == card["agrees"].notna().sum()


def test_residuals_in_standard_deviations_and_the_largest_listed():
    """The generic chapter-3 card carries each n-cut cell's difference in the thesis's s.d. (the same number as the
    detailed card's), chapter 4's effect rows theirs in the combined standard error; the combined scorecard lists
    the largest by absolute value."""
    from nnstructure.report import ch3, engine
    from nnstructure.report.ch4 import scorecard as ch4_scorecard
    from nnstructure.report.residuals import RESIDUAL_SD, largest_residuals

    rows = clusterability_rows()
    generic = ch3.scorecard({"clusterability": rows}, load_thesis_reference())
    ncut = generic[(generic.table == "A.1") & (generic.metric == "ncut") & (generic.cell.str.contains("dropout pruned"))]
    assert ncut[RESIDUAL_SD].tolist() == pytest.approx([-0.15 / 0.039])  # as hand-computed above
    assert generic.loc[generic.metric == "test_accuracy", RESIDUAL_SD].isna().all()  # not an s.d. criterion

    # chapter 4: one network's effect against a thesis cell with a standard error: (ours - theirs) / sqrt(se1^2 + se2^2)
    ref = pd.DataFrame([{"table": "4.2", "network": "MLP, MNIST", "partitioning": "weight-network", "k": 16,
                         "metric": "accuracy_drop", "quantity": q, "value": v}
                        for q, v in (("fisher", 2.0), ("p_value", 0.001), ("effect", 1.0), ("effect_se", 0.03))])
    stats = pd.DataFrame([{"network_label": "MLP, MNIST", "partitioning": "weight-network", "k": 16,
                           "metric": "accuracy_drop", "fisher": 3.0, "p_value": 1e-4, "effect": 1.2, "effect_se": 0.04,
                           "significant": True, "n_networks": 2, "n_subclusters": 30}])
    card4 = ch4_scorecard({"specialization": stats}, ref)
    effect = card4[card4.metric == "effect"].iloc[0]
    assert effect[RESIDUAL_SD] == pytest.approx(0.2 / 0.05) and not effect.agrees  # 4 combined s.e. away
    assert card4.loc[card4.metric != "effect", RESIDUAL_SD].isna().all()

    card = pd.concat([engine.normalise_card(generic, 3), engine.normalise_card(card4, 4)], ignore_index=True)
    top = largest_residuals(card, n=3)
    expected = card[RESIDUAL_SD].abs().sort_values(ascending=False).dropna().iloc[:3]
    assert top[RESIDUAL_SD].abs().tolist() == pytest.approx(expected.tolist()) and len(top) == 3
    text = engine.combined_scorecard_markdown([card])
    assert "## Largest residuals in standard deviations" in text and "+4.0" in text
    assert "Largest residuals" not in engine.combined_scorecard_markdown([card.drop(columns=[RESIDUAL_SD])])
