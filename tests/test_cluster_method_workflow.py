"""clusterability.method and k: auto in chapter 3's own workflow (issue 21): a tiny MLP's cluster and shuffles steps
run by Snakemake with method leiden and with k: auto, and the spectral jobs of an existing results folder left alone."""

import json

import pandas as pd
import pytest
import yaml
from test_workflow_snakemake import job_counts, snakemake

from nnstructure.cluster.choose_k import eigengap_k
from nnstructure.graph import load_graph
from nnstructure.graph.subgraph import drop_isolated_nodes
from nnstructure.report.ch3 import build_tables, tables_markdown

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


def _run(work, cfg, *args, target=TABLE):
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return snakemake(target, *args, "--cores", "2", "--directory", str(work), "--configfile", str(path))


def _log(proc) -> str:
    """What a Snakemake run printed (its job stats and each job's outputs: the same as its dry run's)."""
    return proc.stdout + proc.stderr


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

    # k: auto beside k 3: only the auto cell's jobs run; its row holds the eigengap k of the network's graph, its
    # shuffles are clustered at that k, and the chapter-3 report keeps it out of the thesis comparison.
    auto = {**TINY, "clusterability": {**TINY["clusterability"], "k": [3, "auto"]}}
    assert job_counts(_log(_run(tmp_path, auto))) == {"cluster": 1, "shuffles": 1, "clusterability_row": 1,
                                                      "aggregate_clusterability": 1}
    rows = pd.read_parquet(tmp_path / TABLE).sort_values("k_setting", na_position="first").reset_index(drop=True)
    assert rows["k_setting"].isna().iloc[0] and rows["k_setting"].iloc[1] == "auto"
    fixed, chosen = rows.iloc[0], rows.iloc[1]
    assert fixed["k"] == 3 and (fixed["ncut"], fixed["p_value"]) == (spectral["ncut"].iloc[0], spectral["p_value"].iloc[0])
    graph = load_graph(tmp_path / f"results/methods-tiny/clusterability/graphs/mlp-lines/none/seed0/{fixed['phase']}.npz")
    sub, _ = drop_isolated_nodes(graph)
    assert chosen["k"] == eigengap_k(sub.adjacency)[0] == chosen["n_clusters"]
    cells = (tmp_path / "results/methods-tiny/clusterability/shuffles").rglob("*.parquet")
    assert sorted(p.name for p in cells) == [f"{fixed['phase']}-k3-layer.parquet", f"{fixed['phase']}-kauto-layer.parquet"]
    shuffles = pd.read_parquet(tmp_path / SHUFFLES)
    assert (shuffles.loc[shuffles["k_setting"] == "auto", "k"] == chosen["k"]).all() and len(shuffles) == 6
    tables = build_tables({"clusterability": rows})
    assert list(tables["table_clusterability"]["k"]) == [3]  # the thesis-style summary: fixed k only
    assert tables["table_k_auto"][["k", "ncut"]].values.tolist() == [[chosen["k"], chosen["ncut"]]]
    assert "not compared" in tables_markdown(tables)["table_k_auto"]

    leiden = {**TINY, "clusterability": {**TINY["clusterability"], "method": "leiden"}}
    counts = job_counts(_log(_run(tmp_path, leiden)))
    assert counts == {"cluster_by_method": 1, "shuffles_by_method": 1, "clusterability_row": 1,
                      "aggregate_clusterability": 1}  # the graph and the network stay
    row = pd.read_parquet(tmp_path / TABLE).iloc[0]
    shuffles = pd.read_parquet(tmp_path / SHUFFLES)
    assert row["method"] == "leiden" and row["n_clusters"] >= 2 and row["n_shuffles"] == 3
    assert json.loads(row["method_settings"]) == {"objective": "modularity", "resolution": 1.0} and row["k"] == 3
    assert 0 < row["modularity_p_value"] <= 1 and row["shuffle_clusters_mean"] >= 1
    assert list(shuffles["method"]) == ["leiden"] * 3 and shuffles["modularity"].notna().all()
    # the row's p-value compares the network's leiden n-cut with the leiden shuffles' n-cuts
    assert row["p_value"] == ((shuffles["ncut"] <= row["ncut"]).sum() + 1) / 4  # ties count against the network

    # The partition-methods comparison on the same network: one job per method, so a method added, or one
    # method's settings changed, reruns that method's job only (and the summary that joins the rows).
    methods = {**TINY, "partition_methods": {"methods": ["spectral", "leiden"], "k": 3, "k_max": 6, "n_shuffles": 2,
                                             "n_random": 2, "proxies": ["lesion"], "networks": {"mlp-lines": {}}}}
    summary = "results/methods-tiny/tables/partition_methods.parquet"

    def run_methods(cfg, *args):
        return _run(tmp_path, cfg, *args, target=summary)

    assert job_counts(_log(run_methods(methods))) == {"partition_methods_network": 2, "partition_methods": 1}
    first = pd.read_parquet(tmp_path / summary)
    assert list(first["method"]) == ["spectral", "leiden"] and (first["n_shuffles"] == 2).all()
    more = {**methods, "partition_methods": {**methods["partition_methods"], "methods": ["spectral", "leiden", "louvain"]}}
    assert job_counts(run_methods(more, "-n").stdout) == {"partition_methods_network": 1, "partition_methods": 1}
    reset = {**more, "partition_methods": {**more["partition_methods"], "method_settings": {"leiden": {"resolution": 2.0}}}}
    out = _log(run_methods(reset))
    assert job_counts(out) == {"partition_methods_network": 2, "partition_methods": 1}  # louvain (new) and leiden
    outputs = " ".join(line for line in out.splitlines() if line.strip().startswith("output:"))
    assert "spectral.parquet" not in outputs and "leiden.parquet" in outputs and "louvain.parquet" in outputs
    table = pd.read_parquet(tmp_path / summary)
    assert list(table["method"]) == ["spectral", "leiden", "louvain"]
    assert table["ncut"].iloc[0] == first["ncut"].iloc[0]  # spectral's row was kept, not recomputed differently
    assert json.loads(table["settings"].iloc[1])["resolution"] == 2.0
