"""Every architecture, regulariser and clustering variant through the real workflow, on tiny synthetic data."""

import io
import pickle
import tarfile

import numpy as np
import pandas as pd
import pytest
import yaml

from test_workflow_snakemake import snakemake


def write_synthetic_cifar(path, per_batch=16, seed=0):
    """A CIFAR-10 python tarball of random 32x32x3 images (no CIFAR-10 reaches this machine)."""
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
            payload = pickle.dumps({b"data": data, b"labels": [int(v) for v in rng.integers(0, 10, per_batch)]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


TINY = {"epochs": 1, "prune_epochs": 1, "batch_size": 32, "prune_frequency": 1}
CONFIG = {
    "preset": "variants",
    "device": "cpu",
    "datasets": {"random": {"n_train": 96, "n_test": 32}, "polynomial": {"n_train": 256, "n_test": 64},
                 "lines": {"n_train": 128, "n_test": 32}},
    "train": TINY,
    "clustering": {"k": 3, "n_init": 1, "n_shuffles": 2, "shuffle": "layer"},
    "threads": {"shuffles": 1},
    "experiments": {
        "cnn-random": {
            "arch": "cnn", "dataset": "random", "seeds": [0],
            "conditions": {"dropout": {"dropout": 0.25}, "l1": {"l1": 5e-5},
                           "clusterable": {"reg": "none", "clusterable_init": True, "ci_beta": 0.8}},
            "clustering": {"kernel_norm": "l1-matrix", "shuffle": ["layer", "nonzero"]},
        },
        "vgg-cifar10": {
            "arch": "vgg", "dataset": "cifar10", "seeds": [0], "phases": ["pruned"],
            "train": {**TINY, "augment": True},
            "conditions": {"dropout-l2": {"dropout": 0.5, "l2": 5e-4}},
            "clustering": {"fold_batchnorm": False, "k": [2, 4]},
        },
        "mlp-polynomial": {
            "arch": "mlp", "dataset": "polynomial", "seeds": [0], "train": {**TINY, "widths": [16, 16]},
            "conditions": {"l2": {"l2": 5e-5}},
        },
        "mlp-spectral": {
            "arch": "mlp", "label_arch": "mlp-7x7", "dataset": "lines", "seeds": [0],
            "train": {**TINY, "widths": [8, 8]}, "conditions": {"spectral": {"spectral_reg": 0.1}},
        },
    },
}


@pytest.mark.slow
def test_every_variant_runs_through_the_workflow(tmp_path):
    (tmp_path / "data" / "cifar10").mkdir(parents=True)
    write_synthetic_cifar(tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz")
    cfg = {**CONFIG, "data_dir": str(tmp_path / "data"), "results_dir": str(tmp_path / "results")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    snakemake("--cores", "2", "--configfile", str(tmp_path / "c.yaml"))

    rows = pd.read_parquet(tmp_path / "results" / "variants" / "tables" / "clusterability.parquet")
    cnn = rows[rows["experiment"] == "cnn-random"]
    # 3 conditions x 2 phases x 2 shuffle kinds; CNN graphs hold conv channels only (3 x 64).
    assert len(cnn) == 12 and set(cnn["shuffle"]) == {"layer", "nonzero"}
    assert (cnn["n_nodes"] <= 192).all() and set(cnn["kernel_norm"]) == {"l1-matrix"}
    assert set(cnn["init"]) == {"glorot", "clusterable"}
    vgg = rows[rows["experiment"] == "vgg-cifar10"]
    assert sorted(vgg["k"]) == [2, 4] and vgg["pruned"].all() and not vgg["fold_batchnorm"].any()
    assert (vgg["n_nodes"] <= 4224).all() and (vgg["sparsity"] > 0.85).all()
    poly = rows[rows["experiment"] == "mlp-polynomial"]
    assert poly["test_accuracy"].isna().all() and poly["test_loss"].notna().all()
    spectral = rows[rows["experiment"] == "mlp-spectral"]
    assert set(spectral["arch"]) == {"mlp-7x7"} and set(spectral["reg"]) == {"spectral"}
    assert (rows["ncut"] >= 0).all() and (rows["ncut"] <= rows["k"]).all()
    report = tmp_path / "results" / "variants" / "report"
    assert (report / "scorecard.md").stat().st_size > 0
    assert (tmp_path / "results" / "variants" / "datasets" / "polynomial.png").stat().st_size > 0
