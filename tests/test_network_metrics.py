import math

from nnstructure.results import network_metrics


def test_train_accuracy_is_keras_history_and_eval_is_kept():
    meta = {
        "metrics": [{"train_accuracy": 0.90, "train_loss": 0.3}, {"train_accuracy": 0.967, "train_loss": 0.12}],
        "train_accuracy": 0.991, "train_loss": 0.03, "test_accuracy": 0.979, "test_loss": 0.08, "sparsity": 0.9,
    }
    m = network_metrics(meta)
    assert m["train_accuracy"] == 0.967 and m["train_loss"] == 0.12
    assert m["train_accuracy_eval"] == 0.991 and m["train_loss_eval"] == 0.03
    assert m["test_accuracy"] == 0.979 and m["sparsity"] == 0.9


def test_untrained_network_falls_back_to_evaluation_and_regression_has_nan_accuracy():
    m = network_metrics({"metrics": [], "train_accuracy": None, "train_loss": 1.5, "test_accuracy": None,
                         "test_loss": 1.4, "sparsity": 0.0})
    assert math.isnan(m["train_accuracy"]) and m["train_loss"] == 1.5 and math.isnan(m["test_accuracy"])
