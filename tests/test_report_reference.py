"""The transcribed thesis numbers load with the right shape and spot values."""

import math

import pytest

from nnstructure.report.reference import KEY_COLUMNS, load_random_init_ranges, load_thesis_reference
from report_fixtures import single_row

EXPECTED_ROWS = {
    "3.1": 6, "3.2": 4, "3.3": 4, "3.4": 2, "3.5": 2, "3.6": 2, "3.7": 4, "3.8": 4, "3.9": 4,
    "3.10": 4, "3.11": 4, "A.1": 8, "A.2": 8, "A.3": 8, "A.4": 8, "A.5": 8, "A.6": 10, "A.7": 6,
    "A.8": 8, "A.9": 4, "A.10": 4, "A.11": 2,
}


@pytest.fixture(scope="module")
def ref():
    return load_thesis_reference()



def test_row_counts_per_table(ref):
    assert ref.groupby("table").size().to_dict() == EXPECTED_ROWS
    # "3.10" must stay a string label, not collapse to 3.1.
    assert set(ref["table"]) == set(EXPECTED_ROWS)


def test_keys_are_unique_within_each_table(ref):
    assert not ref.duplicated(["table", *KEY_COLUMNS]).any()


def test_a1_dropout_pruned(ref):
    row = single_row(ref, table="A.1", reg="dropout", pruned=True)
    assert (row.arch, row.dataset, row.init, row.k, row.n_shuffles) == ("mlp", "mnist", "glorot", 12, 50)
    assert row.ncut == 8.350 and row.shuffle_mean == 9.247 and row.shuffle_std == 0.039
    assert (row.n_beat_all, row.n_networks) == (5, 5)
    assert (row.train_accuracy, row.test_accuracy) == (0.967, 0.979)
    assert math.isnan(row.train_loss) and math.isnan(row.ncut_std)


def test_spot_values_across_tables(ref):
    control = single_row(ref, table="A.6", reg="none", pruned=True)
    assert (control.arch, control.ncut, control.shuffle_std, control.n_beat_all) == ("vgg", 8.133, 0.213, 0)
    assert single_row(ref, table="A.6", reg="dropout-l2", pruned=True).n_beat_all == 4
    memorise = single_row(ref, table="3.6", reg="dropout")
    assert (memorise.unpruned_ncut, memorise.unpruned_ncut_std, memorise.ncut, memorise.ncut_std) == (10.221, 0.061, 8.82, 0.15)
    assert (memorise.n_beat_all, memorise.n_networks, memorise.train_accuracy) == (6, 10, 0.213)
    kilo = ref[ref.table == "3.5"]
    assert set(kilo.epochs_variant) == {"kilo-epoch"} and set(kilo.dataset) == {"random"}
    k4 = single_row(ref, table="3.7", dataset="fashion", reg="dropout")
    assert (k4.k, k4.n_shuffles, k4.ncut, k4.ncut_std, k4.shuffle_mean) == (4, 320, 1.726, 0.022, 2.013)
    poly = single_row(ref, table="3.1", reg="l1", pruned=False)
    assert (poly.n_beat_all, poly.train_loss, poly.test_loss) == (3, 0.350, 0.319)
    assert math.isnan(poly.train_accuracy)
    resnet = single_row(ref, table="A.7", arch="resnet34")
    assert (resnet.n_shuffles, resnet.n_networks, resnet.p_value, resnet.top1_accuracy) == (100, 1, 0.01, 0.722)
    assert resnet.shuffle_std == 0.001 and resnet.init == "pretrained"
    stack = single_row(ref, table="A.8", dataset="fashion-stack-diff", pruned=False)
    assert (stack.arch, stack.n_beat_all, stack.test_accuracy) == ("cnn", 3, 0.703)
    spectral = single_row(ref, table="3.11", reg="spectral", pruned=True)
    assert (spectral.arch, spectral.dataset, spectral.ncut, spectral.n_beat_all) == ("mlp-7x7", "mnist-7x7", 5.51, 7)
    assert set(ref[ref.table.isin(["A.9", "A.10", "A.11"])].init) == {"clusterable"}


def test_shuffle_statistics_are_consistent(ref):
    # Every row with a shuffle mean prints its s.d.; counts never exceed the networks.
    has_mean = ref.shuffle_mean.notna()
    assert (ref.shuffle_std.notna() == has_mean).all()
    counted = ref.n_beat_all.notna()
    assert (ref.n_beat_all[counted] <= ref.n_networks[counted]).all()
    assert ref.n_networks.notna().all()


def test_random_init_ranges():
    ranges = load_random_init_ranges().set_index("arch")
    assert ranges.loc["mlp", ["ncut_min", "ncut_max"]].tolist() == [10.2, 10.4]
    assert ranges.loc["cnn", ["ncut_min", "ncut_max"]].tolist() == [10.90, 10.95]
    assert ranges.loc["vgg", ["ncut_min", "ncut_max"]].tolist() == [8.45, 8.63]
    assert (ranges.n_networks == 100).all()
