"""clusterability.method in chapter 3's own workflow (issue 21): a tiny MLP's cluster and shuffles steps run by
Snakemake with method leiden, and the spectral jobs of an existing results folder left alone."""

import json

import pandas as pd
import pytest
import yaml
from test_workflow_snakemake import job_counts, snakemake

TINY = {
    "preset": "methods-tiny",
    "data_dir": "data",
    "device": "cpu",
    "datasets": {"lines": {"n_train": 256, "n_test": 128}},
    "train": {"epochs": 1, "prune_epochs": 0, "batch_size": 64, "widths": [24, 24]},
    "threads": {"shuffles": 1},
    "networks": {"mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0]}},
    "clusterability": {"k": 3, "n_init": 2, "n_shuffles": 3, "shuffle": "layer", "networks": {"mlp-lines": {}}},
}
TABLE = "results/methods-tiny/tables/clusterability.parquet"
SHUFFLES = "results/methods-tiny/tables/shuffles.parquet"


def _run(work, cfg, *args):
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return snakemake(TABLE, *args, "--cores", "2", "--directory", str(work), "--configfile", str(path))


@pytest.mark.slow
def test_leiden_clusterability_in_the_workflow(tmp_path):
    _run(tmp_path, TINY)
    spectral = pd.read_parquet(tmp_path / TABLE)
    assert list(spectral["method"]) == ["spectral"] and spectral["n_clusters"].iloc[0] == spectral["k"].iloc[0] == 3
    assert spectral["modularity"].notna().all() and spectral["modularity_p_value"].isna().all()

    # An explicit spectral method (and another method's settings) changes no job.
    same = {**TINY, "clusterability": {**TINY["clusterability"], "method": "spectral",
                                       "method_settings": {"leiden": {"resolution": 2.0}}}}
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(_run(tmp_path, same, "-n"))

    leiden = {**TINY, "clusterability": {**TINY["clusterability"], "method": "leiden"}}
    counts = job_counts(_run(tmp_path, leiden, "-n").stdout)
    assert counts == {"cluster_by_method": 1, "shuffles_by_method": 1, "clusterability_row": 1,
                      "aggregate_clusterability": 1}  # the graph and the network stay
    _run(tmp_path, leiden)
    row = pd.read_parquet(tmp_path / TABLE).iloc[0]
    shuffles = pd.read_parquet(tmp_path / SHUFFLES)
    assert row["method"] == "leiden" and row["n_clusters"] >= 2 and row["n_shuffles"] == 3
    assert json.loads(row["method_settings"]) == {"objective": "modularity", "resolution": 1.0} and row["k"] == 3
    assert 0 < row["modularity_p_value"] <= 1 and row["shuffle_clusters_mean"] >= 1
    assert list(shuffles["method"]) == ["leiden"] * 3 and shuffles["modularity"].notna().all()
    # the row's p-value compares the network's leiden n-cut with the leiden shuffles' n-cuts
    assert row["p_value"] == ((shuffles["ncut"] < row["ncut"]).sum() + 1) / 4
