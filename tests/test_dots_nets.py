"""Dots-and-distances networks trained through the one loop on images made on the fly; CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from nnstructure.checkpoint import load_checkpoint
from nnstructure.cli import main
from nnstructure.data.dots_stream import DotsTrainingData, baseline_loss, generate_dots


def test_training_data_streams_the_split_and_evaluates_like_a_direct_pass():
    data = DotsTrainingData("regression", n_train=20, n_test=6, seed=3).training_data(torch.device("cpu"))
    batches = list(data.train_batches(8, True, torch.Generator().manual_seed(0)))
    assert [len(x) for x, _ in batches] == [8, 8, 4]
    labels = np.sort(torch.cat([y for _, y in batches]).numpy()[:, 0])
    np.testing.assert_array_equal(labels, np.sort(generate_dots(3, "train", np.arange(20))[1][:, 0]))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(2, 1))
    x, y = generate_dots(3, "test", np.arange(6))
    with torch.no_grad():
        direct = torch.nn.functional.mse_loss(model(torch.from_numpy(x).float() / 255), torch.from_numpy(y)).item()
    loss, acc = data.evaluate_split(model, "test")
    assert loss == pytest.approx(direct, rel=1e-5) and acc is None


def test_baselines_match_the_thesis():
    assert baseline_loss("regression", 0, 100_000, 20_000) == pytest.approx(0.0166, abs=0.0008)
    assert baseline_loss("distances", 0, 100_000, 20_000) == pytest.approx(0.0498, abs=0.0015)
    # cross-entropy of the 0.93% base rate: 0.0528; on 40000 test images within a few standard errors
    assert baseline_loss("classification", 0, 100_000, 40_000) == pytest.approx(0.0528, abs=0.006)


def test_dots_net_cli_trains_and_writes_a_row(tmp_path, capsys):
    out = tmp_path / "cls.pt"
    assert main(["dots-net", "--task", "classification", "--n-train", "24", "--n-test", "8", "--epochs", "1",
                 "--batch-size", "8", "--width-multiplier", "0.03125", "--out", str(out), "--row", str(tmp_path / "row.parquet"),
                 "--network", "dots-classification", "--quiet"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["task"] == "classification" and row["n_train"] == 24 and row["epochs"] == 1
    assert row["cutoff"] == pytest.approx(0.18594, abs=1e-4)
    ckpt = load_checkpoint(out)
    assert ckpt.metadata["spec"]["input_shape"] == [3, 64, 64] and ckpt.metadata["spec"]["n_outputs"] == 2
    assert pd.read_parquet(tmp_path / "row.parquet")["network"].iloc[0] == "dots-classification"
    with pytest.raises(ValueError, match="needs 1 outputs"):
        DotsTrainingData("regression", 4, 4).check_compatible({"input_shape": [3, 64, 64], "n_outputs": 2}, None)



def test_dots_net_cli_takes_the_recipe_settings_and_records_the_class_discard(tmp_path, capsys):
    out = tmp_path / "cls.pt"
    assert main(["dots-net", "--task", "classification", "--n-train", "2000", "--n-test", "8", "--epochs", "1",
                 "--batch-size", "16", "--width-multiplier", "0.03125", "--channels", "768,256,384,384,256",
                 "--init", "glorot", "--lr-schedule", "cosine", "--grad-clip-norm", "1", "--class-discard", "0.98",
                 "--precision", "fp32", "--out", str(out), "--quiet"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["class_discard"] == 0.98 and row["n_train"] == 2000
    meta = load_checkpoint(out).metadata
    assert meta["spec"]["channels"] == [768, 256, 384, 384, 256] and meta["spec"]["init"] == "glorot"
    assert meta["train_config"]["lr_schedule"] == "cosine" and meta["train_config"]["grad_clip_norm"] == 1.0
    assert main(["dots-net", "--task", "regression", "--n-train", "20", "--epochs", "1", "--class-discard", "0.5",
                 "--out", str(tmp_path / "reg.pt"), "--quiet"]) != 0
    assert "class_discard" in capsys.readouterr().err
    assert not (tmp_path / "reg.pt").exists()
