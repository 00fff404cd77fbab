"""Chapter 5's aggregation: its named inputs' rows, with the columns (labels) its params give each file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnstructure.reward.aggregate import INPUT_TABLES, aggregate_reward_results

TABLES = sorted({table for tables in INPUT_TABLES.values() for table in tables})


def _write(path: Path, frame: pd.DataFrame) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return str(path)


def test_rows_get_the_columns_given_for_their_file(tmp_path):
    net = {"network": "coin-seed0", "network_set": "coin", "condition": "none", "seed": 0}
    adv = {"network": "adv", "network_set": "adv", "condition": "none", "seed": 0}
    examples = tmp_path / "adv" / "examples"
    examples.mkdir(parents=True)
    for epoch in (10, 2):
        np.savez(examples / f"examples-epoch-{epoch}.npz", x=np.zeros(1))
    vis = tmp_path / "vis" / "reward-denovo"
    _write(vis / "predictions.parquet", pd.DataFrame({"action": [0, 1], "reward": [0.5, 1.5]}))
    inputs = {
        "datasets": [_write(tmp_path / "summary.parquet", pd.DataFrame({"episodes": [4]}))],
        "reward_rows": [_write(tmp_path / "row.parquet", pd.DataFrame({"test_loss": [0.25]}))],
        "adversarial_examples": [str(examples)],
        "adversarial_edits": [_write(tmp_path / "edits.parquet", pd.DataFrame({"edit": ["coin", "agent"]}))],
        "visualizations": [str(vis)],
        "probes": [],
        "dots_metrics": [_write(tmp_path / "dots-metrics.parquet", pd.DataFrame({"epoch": [1, 2], "test_loss": [0.02, 0.01]}))],
    }
    dots = {"network": "dots-regression", "network_set": "dots", "condition": "regression", "seed": 0}
    columns = {
        "datasets": [{"dataset": "coinrun"}],
        "reward_rows": [{**net, "thesis_network": "coinrun-15"}],
        "adversarial_examples": [adv],
        "adversarial_edits": [{"network": "adv", "thesis_network": "adversarial"}],
        "visualizations": [{"network": "coin-seed0", "thesis_network": None, "mode": "denovo"}],
        "probes": [],
        "dots_metrics": [dots],
    }
    outputs = {name: str(tmp_path / "tables" / f"{name}.parquet") for name in TABLES}
    counts = aggregate_reward_results(inputs, columns, outputs)
    assert counts == {**dict.fromkeys(TABLES, 0), "datasets": 1, "reward_nets": 1, "adversarial_examples": 2,
                      "adversarial_edits": 2, "visualizations": 2, "visualization_images": 1, "dots_net_metrics": 2}
    read = {name: pd.read_parquet(path) for name, path in outputs.items()}
    assert read["datasets"].to_dict("records") == [{"episodes": 4, "dataset": "coinrun"}]
    assert read["reward_nets"].to_dict("records") == [{"test_loss": 0.25, **net, "thesis_network": "coinrun-15"}]
    # the example files in name order (10 before 2), each with the epoch its name gives
    assert read["adversarial_examples"].to_dict("records") == [
        {"epoch": 10, "path": str(examples / "examples-epoch-10.npz"), **adv},
        {"epoch": 2, "path": str(examples / "examples-epoch-2.npz"), **adv}]
    # an adversarial net's edited transitions name their kind of edit
    assert read["adversarial_edits"]["kind"].tolist() == ["coin", "agent"]
    assert read["adversarial_edits"]["network"].tolist() == ["adv", "adv"]
    assert read["visualizations"].columns.tolist() == ["action", "reward", "network", "thesis_network"]
    assert read["visualization_images"].to_dict("records") == [
        {"network": "coin-seed0", "thesis_network": None, "mode": "denovo", "path": str(vis / "images.npz")}]
    assert read["visualization_controls"].empty  # no controls.parquet in the folder
    assert read["dots_net_metrics"].to_dict("records") == [{"epoch": 1, "test_loss": 0.02, **dots},
                                                           {"epoch": 2, "test_loss": 0.01, **dots}]


def test_every_file_needs_its_columns_and_every_input_a_known_name(tmp_path):
    outputs = {name: str(tmp_path / f"{name}.parquet") for name in TABLES}
    with pytest.raises(ValueError, match="'noise': 1 files but columns for 0"):
        aggregate_reward_results({"noise": ["x.parquet"]}, {}, outputs)
    with pytest.raises(ValueError, match="unknown aggregation inputs \\['networks'\\]"):
        aggregate_reward_results({"networks": []}, {}, outputs)


def test_the_workflow_names_the_aggregation_inputs_it_reads():
    from nnstructure import workflow as wc

    cfg = {"networks": {}, "transitions": {}}
    assert list(wc.reward_aggregate_inputs(cfg, "res")) == list(INPUT_TABLES)


def test_an_older_adversarial_summary_gets_its_mean_guess_from_its_dataset(tmp_path, monkeypatch):
    from nnstructure.reward.nets import mean_guess_mse
    from nnstructure.reward.transitions import TransitionDataset
    from test_reward_transitions_data import write_transition_dataset

    dataset = write_transition_dataset(tmp_path / "ds")
    monkeypatch.setattr("nnstructure.checkpoint.read_metadata",
                        lambda path: {"dataset_path": str(dataset) if path == "adv.pt" else str(tmp_path / "gone")})
    summary = _write(tmp_path / "summary.parquet", pd.DataFrame({"checkpoint": ["adv.pt", "moved.pt"], "test_loss": [1.0, 1.0]}))
    outputs = {name: str(tmp_path / "tables" / f"{name}.parquet") for name in TABLES}
    aggregate_reward_results({"adversarial_summaries": [summary]},
                             {"adversarial_summaries": [{"network": "adv", "network_set": "adv", "condition": "none", "seed": 0}]},
                             outputs)
    mean_guess = pd.read_parquet(outputs["adversarial"])["mean_guess_test_mse"].tolist()
    assert mean_guess[0] == mean_guess_mse(TransitionDataset(dataset))["test"] > 0 and np.isnan(mean_guess[1])
