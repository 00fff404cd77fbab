"""Partition methods, choosing k and the partition-methods comparison (issue 21)."""

import numpy as np
import pytest
import scipy.sparse as sp

from nnstructure.cluster.choose_k import eigengap_k, k_choices, modularity_k, resolve_k
from nnstructure.cluster.methods import (
    METHODS,
    canonical_labels,
    cluster_size_stats,
    method_settings,
    modularity,
    partition_labels,
    partition_quality,
)


def planted_graph(sizes, seed=0, p_in=0.6, p_out=0.05, w_out=0.2, isolated=0):
    """A weighted graph of dense blocks of ``sizes`` with sparse weak edges between them (and isolated nodes)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n = truth.size
    same = truth[:, None] == truth[None, :]
    inside = rng.uniform(0.5, 1.0, (n, n)) * (rng.random((n, n)) < p_in)
    between = rng.uniform(0.0, w_out, (n, n)) * (rng.random((n, n)) < p_out)
    a = np.triu(np.where(same, inside, between), 1)
    a = a + a.T
    if isolated:
        a = np.pad(a, ((0, isolated), (0, isolated)))
        truth = np.concatenate([truth, np.full(isolated, -1)])
    return sp.csr_matrix(a), truth


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sizes", [(30, 20, 25, 15), (12, 18, 14, 22, 16, 20)])
def test_every_method_recovers_a_planted_partition_exactly(method, sizes):
    adjacency, truth = planted_graph(sizes, seed=len(sizes), isolated=2)
    labels = partition_labels(adjacency, method, k=len(sizes), seed=0)
    assert np.array_equal(labels, canonical_labels(truth))
    assert (labels[-2:] == -1).all()  # zero-degree nodes are left out by every method


@pytest.mark.parametrize("method", METHODS)
def test_methods_are_deterministic_given_the_seed(method):
    adjacency, _ = planted_graph((10, 10, 10), seed=3, p_in=0.3, p_out=0.2, w_out=0.8)  # weak blocks: choices to make
    first = partition_labels(adjacency, method, k=3, seed=5)
    assert np.array_equal(first, partition_labels(adjacency, method, k=3, seed=5))


def test_canonical_labels_order_by_size_then_first_member():
    assert canonical_labels([7, 7, 3, -1, 3, 3, 9]).tolist() == [1, 1, 0, -1, 0, 0, 2]


def test_quality_of_a_partition_from_any_method():
    adjacency, truth = planted_graph((10, 10), seed=1)
    import networkx as nx

    graph = nx.from_scipy_sparse_array(adjacency)
    expected = nx.community.modularity(graph, [set(np.flatnonzero(truth == c)) for c in range(2)], weight="weight")
    assert modularity(adjacency, truth) == pytest.approx(expected)
    q = partition_quality(adjacency, truth)
    assert q["n_clusters"] == 2 and q["size_min"] == q["size_max"] == 10 and q["largest_fraction"] == 0.5
    assert 0 < q["ncut"] < 0.3 and q["modularity"] > 0.4
    sizes = cluster_size_stats([0, 0, 0, 1, 2, -1])
    assert (sizes["n_clusters"], sizes["n_singletons"], sizes["n_unlabelled"], sizes["size_max"]) == (3, 2, 1, 3)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown partition method 'kmeans'"):
        partition_labels(np.eye(3), "kmeans")
    with pytest.raises(ValueError, match="has no setting n_init"):
        method_settings("leiden", {"n_init": 3})
    with pytest.raises(ValueError, match="needs the number of clusters"):
        partition_labels(planted_graph((5, 5))[0], "spectral")
    with pytest.raises(ValueError, match="not symmetric"):
        partition_labels(np.triu(np.ones((4, 4)), 1), "louvain")
    with pytest.raises(ValueError, match="objective"):
        partition_labels(planted_graph((5, 5))[0], "leiden", settings={"objective": "surprise"})


@pytest.mark.parametrize("sizes", [(20, 25, 30), (15, 20, 12, 18, 25), (12, 14, 16, 18, 20, 22, 24, 26)])
def test_k_auto_finds_the_number_of_blocks(sizes):
    adjacency, _ = planted_graph(sizes, seed=len(sizes), isolated=1)
    k, values = eigengap_k(adjacency, k_max=12)
    assert k == len(sizes) and values[0] == pytest.approx(0, abs=1e-9)
    assert resolve_k("auto", adjacency) == len(sizes)
    assert modularity_k(adjacency) == len(sizes)
    choices = k_choices(adjacency, fixed_k=12)
    assert (choices["k_fixed"], choices["k_eigengap"], choices["k_modularity"]) == (12, len(sizes), len(sizes))


def test_resolve_k_checks_its_input():
    adjacency, _ = planted_graph((5, 5))
    assert resolve_k(7, adjacency) == 7
    for bad in (1, "many", 2.5):
        with pytest.raises(ValueError, match="k must be an integer of at least 2 or 'auto'"):
            resolve_k(bad, adjacency)


def test_sparse_and_dense_spectra_agree(monkeypatch):
    from nnstructure.cluster import choose_k

    adjacency, _ = planted_graph((40, 50, 60), seed=2)
    dense = choose_k.laplacian_spectrum(adjacency, 6)
    monkeypatch.setattr(choose_k, "DENSE_MAX_NODES", 10)
    assert np.allclose(choose_k.laplacian_spectrum(adjacency, 6), dense, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# The comparison on a tiny trained MLP


def _bars(n_train=240, n_test=120, side=8, seed=0):
    """Four classes of 8x8 images: a bright bar in one of four places, plus noise."""
    from nnstructure.data import Dataset

    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 4, n)
        x = rng.integers(0, 60, size=(n, 1, side, side))
        for i, c in enumerate(y):
            x[i, 0, 1 + 2 * c:3 + 2 * c, 1:side - 1] += 180
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return Dataset("bars", x_train, y_train, x_test, y_test, n_classes=4)


@pytest.fixture(scope="module")
def tiny_mlp(tmp_path_factory):
    from nnstructure.data import save_dataset
    from nnstructure.train import train_network

    tmp = tmp_path_factory.mktemp("methods")
    data_path = tmp / "bars.npz"
    save_dataset(_bars(), data_path)
    ckpt = tmp / "mlp.pt"
    train_network(_bars(), {"arch": "mlp", "input_shape": [1, 8, 8], "n_outputs": 4, "widths": [16, 16]},
                  {"epochs": 3, "prune_epochs": 0, "batch_size": 32}, seed=0, out=ckpt, device="cpu", progress=False)
    return ckpt, data_path


SMALL = {"k": 4, "n_shuffles": 3, "n_random": 4, "visualization": {"steps": 3}, "network": "tiny"}


def test_the_comparison_step_runs_every_method_on_a_tiny_mlp(tiny_mlp, tmp_path):
    import pandas as pd

    from nnstructure.cluster.method_comparison import compare_partition_methods, summarise_partition_methods
    from nnstructure.io import read_parquet

    ckpt, data = tiny_mlp
    out = tmp_path / "rows.parquet"
    compare_partition_methods(ckpt, data, out, SMALL, device="cpu")
    rows = read_parquet(out)
    assert list(rows["method"]) == list(METHODS)
    spectral = rows.set_index("method").loc["spectral"]
    assert spectral["k"] == 4 and spectral["n_clusters"] == 4 and spectral["k_fixed"] == 4
    for _, row in rows.iterrows():
        assert row["n_shuffles"] == 3 and len(row["shuffled_ncuts"]) == 3
        assert row["ncut_p_value"] in (0.25, 0.5, 0.75, 1.0) and row["modularity_p_value"] in (0.25, 0.5, 0.75, 1.0)
        assert row["seconds"] >= 0 and 2 <= row["k_eigengap"] <= 32 and row["k_modularity"] >= 1
        if row["n_clusters"] >= 2:  # chapter 4 on its partition: Fisher statistics of both proxies
            assert row["importance_fisher"] > 0 and row["coherence_fisher"] > 0
            assert 0 < row["importance_p_value"] <= 1 and row["importance_subclusters"] >= 1
    # the workflow runs each method as its own job: with the same seed, each method alone gives its row of the
    # joint run (nothing carries over from one method to the next), so the joined rows are the same table
    alone = [tmp_path / f"{method}.parquet" for method in METHODS]
    for method, path in zip(METHODS, alone):
        compare_partition_methods(ckpt, data, path, {**SMALL, "methods": [method]}, device="cpu")
    joined = pd.concat([read_parquet(path) for path in alone], ignore_index=True)
    same = ["method", "n_clusters", "ncut", "modularity", "ncut_p_value", "importance_fisher", "coherence_fisher"]
    pd.testing.assert_frame_equal(joined[same], rows[same])
    table = summarise_partition_methods(alone, tmp_path / "table.parquet", tmp_path / "fig.png", tmp_path / "conclusion.md")
    text = (tmp_path / "conclusion.md").read_text()
    best = table.groupby("method")["specialisation"].mean().idxmax()
    assert f"{best} finds the most specialised clusters" in text and table["conclusion"].iloc[0] in text
    assert (tmp_path / "fig.png").stat().st_size > 1000


def test_the_comparison_names_bad_settings(tiny_mlp, tmp_path):
    from nnstructure.cluster.method_comparison import compare_partition_methods

    ckpt, data = tiny_mlp
    with pytest.raises(ValueError, match="unknown partition method 'kmeans'"):
        compare_partition_methods(ckpt, data, tmp_path / "x.parquet", {"methods": ["kmeans"]})
    with pytest.raises(ValueError, match="has no setting resolution"):
        compare_partition_methods(ckpt, data, tmp_path / "x.parquet", {"method_settings": {"infomap": {"resolution": 2}}})
    with pytest.raises(ValueError, match="unknown setting"):
        compare_partition_methods(ckpt, data, tmp_path / "x.parquet", {"n_shufles": 2})


def test_cli_clusterability_and_specialization_take_a_method_and_k_auto(tiny_mlp, tmp_path, capsys):
    import json

    from nnstructure.cli import main
    from nnstructure.cluster.relative import method_clusterability
    from nnstructure.graph.weights import weight_graph
    from nnstructure.io import read_parquet
    from nnstructure.specialization.steps import load_network

    ckpt, data = tiny_mlp
    capsys.readouterr()
    out = tmp_path / "row.parquet"
    assert main(["clusterability", str(ckpt), "--method", "leiden", "--resolution", "1.5", "--n-shuffles", "3",
                 "--seed", "2", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    lib = method_clusterability(weight_graph(load_network(ckpt).model), "leiden", 12, 3, "layer", 2, {"resolution": 1.5})
    assert printed["method"] == "leiden" and printed["k"] is None
    assert printed["ncut"] == pytest.approx(lib["ncut"]) and printed["modularity_p_value"] == lib["modularity_p_value"]
    assert read_parquet(out).loc[0, "method_settings"] == '{"objective": "modularity", "resolution": 1.5}'
    assert main(["clusterability", str(ckpt), "--k", "auto", "--n-shuffles", "2", "--json"]) == 0
    auto = json.loads(capsys.readouterr().out)
    graph = weight_graph(load_network(ckpt).model)
    from nnstructure.cluster.choose_k import eigengap_k
    from nnstructure.graph.subgraph import drop_isolated_nodes

    assert auto["method"] == "spectral" and auto["k"] == eigengap_k(drop_isolated_nodes(graph)[0].adjacency)[0]
    assert main(["clusterability", str(ckpt), "--method", "infomap", "--resolution", "2"]) == 1
    assert "has no setting resolution" in capsys.readouterr().err
    # chapter 4 with the clusters Louvain finds: every metric's statistics
    assert main(["specialization", str(ckpt), "--dataset", str(data), "--method", "louvain", "--n-random", "3",
                 "--vis-steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "louvain" and report["k"] >= 2
    assert {"accuracy_drop", "vis_score"} <= set(report["metrics"])
    assert all(0 <= m["p_value"] <= 1 and m["n_subclusters"] > 0 for m in report["metrics"].values())
    assert main(["specialization", str(ckpt), "--dataset", str(data), "--k", "auto", "--partitioning", "weight-layer",
                 "--n-random", "3", "--proxies", "lesion", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["k"] == auto["k"]


# ---------------------------------------------------------------------------------------------
# The workflow's glue


def _config(**section):
    from pathlib import Path

    from snakemake.utils import validate

    from nnstructure.config_check import check_config

    schema = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"
    cfg = {
        "networks": {
            "mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0, 1], "train": {"prune_epochs": 1}},
            "cnn-lines": {"arch": "cnn", "dataset": "lines", "seeds": [0], "train": {"prune_epochs": 0}},
            "mlp-init": {"kind": "random_init", "arch": "mlp", "dataset": "lines", "seeds": [0]},
        },
        "partition_methods": {"networks": {"mlp-lines": {"phases": ["unpruned"]}, "cnn-lines": {"n_shuffles": 2}},
                              **section},
    }
    check_config(cfg, schema)
    validate(cfg, str(schema))  # fills the defaults
    return cfg


def test_workflow_params_hold_what_changes_a_network_comparison():
    import nnstructure.workflow as wc

    cfg = _config(method_settings={"leiden": {"resolution": 2.0}, "infomap": {"n_trials": 3}}, methods=["spectral", "leiden"])
    cells = list(wc.analysis_cells(cfg, "partition_methods"))
    assert [(c.entry, c.seed, c.phase) for c in cells] == [("mlp-lines", 0, "unpruned"), ("mlp-lines", 1, "unpruned"),
                                                           ("cnn-lines", 0, "unpruned")]
    mlp, _, cnn = (wc.partition_methods_params(cfg, c, "leiden") for c in cells)
    assert mlp["methods"] == ["leiden"] and mlp["k"] == 16 and mlp["n_shuffles"] == 10
    assert mlp["method_settings"] == {"leiden": {"resolution": 2.0}}  # the job's own method's settings only
    assert "kernel_norm" not in mlp and cnn["kernel_norm"] == "l1" and cnn["n_shuffles"] == 2  # entry override
    assert mlp["seed"] != wc.partition_methods_params(cfg, cells[1], "leiden")["seed"]
    # one job per method: the spectral job holds no setting of leiden's (changing it reruns leiden's job only),
    # and both meet the same shuffles (the network's seed)
    spectral = wc.partition_methods_params(cfg, cells[0], "spectral")
    assert spectral["methods"] == ["spectral"] and spectral["method_settings"] == {} and spectral["seed"] == mlp["seed"]
    assert spectral == wc.partition_methods_params(_config(methods=["spectral", "leiden", "louvain"]), cells[0], "spectral")
    with pytest.raises(wc.WorkflowConfigError, match="'louvain' is not in partition_methods.methods"):
        wc.partition_methods_params(cfg, cells[0], "louvain")
    assert wc.partition_methods_params(_config(proxies=["lesion"]), cells[0], "spectral").get("visualization") is None
    from nnstructure.cluster.method_comparison import comparison_settings

    assert comparison_settings(mlp)["methods"] == ["leiden"]  # the step takes the params as they are
    rows = wc.partition_methods_row_targets(cfg, "res/p")
    assert rows[:2] == ["res/p/partition_methods/mlp-lines/none/seed0/unpruned/spectral.parquet",
                        "res/p/partition_methods/mlp-lines/none/seed0/unpruned/leiden.parquet"] and len(rows) == 6
    assert wc.partition_methods_targets(cfg, "res/p", cells) == list(wc.partition_methods_outputs("res/p").values())
    assert wc.partition_methods_targets(cfg, "res/p", []) == []


def test_workflow_config_errors_name_the_key():
    from nnstructure.config_check import ConfigError
    import nnstructure.workflow as wc

    with pytest.raises(ConfigError, match="partition_methods"):
        _config(methods=["kmeans"])
    with pytest.raises(ConfigError, match="partition_methods"):
        _config(method_settings={"louvain": {"n_trials": 2}})
    cfg = _config()
    cfg["partition_methods"]["networks"]["mlp-init"] = {}
    with pytest.raises(wc.WorkflowConfigError, match="partition_methods analyses networks of kind trained"):
        list(wc.analysis_cells(cfg, "partition_methods"))


def test_the_conclusion_is_computed_from_the_numbers():
    import pandas as pd

    from nnstructure.cluster.method_comparison import method_conclusion

    nan = float("nan")
    rows = [  # two networks; leiden splits no layer on either, louvain is most specialised, spectral best n-cut z
        ("a", "spectral", 1.2, 1.4, -3.0, 10.0, 16), ("b", "spectral", 1.0, 1.2, -2.0, 11.0, 16),
        ("a", "louvain", 1.6, 1.5, 0.5, 0.4, 3), ("b", "louvain", 1.4, 1.3, 0.3, 0.5, 3),
        ("a", "leiden", nan, nan, 0.1, 0.3, 2), ("b", "leiden", nan, nan, 0.2, 0.3, 2),
    ]
    table = pd.DataFrame(rows, columns=["network", "method", "importance_fisher", "coherence_fisher", "ncut_z", "ncut",
                                        "n_clusters"]).assign(null_fisher=0.98, modularity_z=0.0)
    text = method_conclusion(table)
    assert text.startswith("On 2 network(s), louvain finds the most specialised clusters (mean Fisher statistic 1.450")
    assert "ahead of spectral (1.200) by 0.250" in text and "lowest n-cut against its own shuffles is spectral's" in text
    assert "leiden split no hidden layer" in text and "lowest raw n-cut is leiden's (0.300 with 2 clusters" in text
    table.loc[table["method"] == "spectral", ["importance_fisher", "coherence_fisher"]] = [[1.6, 1.5], [1.4, 1.3]]
    assert "spectral and louvain find the most specialised" in method_conclusion(table)  # a tie, in table order


def test_specialization_method_setting_partitions_by_the_method(tiny_mlp, tmp_path):
    """specialization.method: the workflow's partition step clusters network-wide by the method, and the
    layer-wise partition reuses that partition's k per layer."""
    import nnstructure.workflow as wc
    from nnstructure.specialization.partition import read_partition
    from nnstructure.specialization.steps import partition, specialization

    ckpt, data = tiny_mlp
    net = tmp_path / "net.parquet"
    partition(ckpt, data, net, {"partitioning": "weight-network", "k": 16, "method": "leiden",
                                "method_settings": {"resolution": 1.2}})
    frame, summary = read_partition(net)
    assert summary["method"] == "leiden" and summary["k"] == frame.loc[frame["label"] >= 0, "label"].nunique() >= 2
    layer = tmp_path / "layer.parquet"
    partition(ckpt, data, layer, {"partitioning": "weight-layer", "k": 16, "method": "leiden"}, network_labels=net)
    assert read_partition(layer)[1]["k"] == summary["k"] and read_partition(layer)[1]["method"] == "leiden"
    with pytest.raises(ValueError, match="partition by the same method"):
        partition(ckpt, data, layer, {"partitioning": "weight-layer", "k": 16}, network_labels=net)
    combined = specialization(ckpt, data, {"method": "louvain", "partitioning": "act-network", "validation_size": 100,
                                           "n_random": 3, "proxies": ["lesion"]})
    assert set(combined["metric"]) >= {"accuracy_drop"}
    cfg = _config()
    cfg["specialization"] = {"method": "louvain", "networks": {"mlp-lines": {}}}
    cfg2 = _config()
    cfg2["specialization"] = {"networks": {"mlp-lines": {}}}
    from snakemake.utils import validate
    from pathlib import Path

    schema = str(Path(__file__).resolve().parents[1] / "config" / "schema.yaml")
    validate(cfg, schema)
    validate(cfg2, schema)
    cell = next(iter(wc.analysis_cells(cfg, "specialization")))
    assert wc.partition_params(cfg, cell, "weight-network", 16)["method"] == "louvain"
    assert "method" not in wc.partition_params(cfg2, cell, "weight-network", 16)  # spectral: params as before


# ---------------------------------------------------------------------------------------------
# clusterability.method: chapter 3's cluster and shuffles steps


def _clusterability_config(**section):
    from pathlib import Path

    from snakemake.utils import validate

    from nnstructure.config_check import check_config

    schema = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"
    cfg = {
        "networks": {"mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0], "train": {"prune_epochs": 1}}},
        "clusterability": {"networks": {"mlp-lines": {}}, **section},
    }
    check_config(cfg, schema)
    validate(cfg, str(schema))  # fills the defaults
    return cfg


def test_clusterability_steps_partition_the_network_and_its_shuffles_by_the_method(tiny_mlp, tmp_path):
    """The cluster and shuffles steps with method leiden: leiden on the network and on every shuffle (the same
    shuffles and seeds as the comparison analysis), the summary recording the method, its settings, the clusters
    found, modularity and sizes."""
    from nnstructure.cluster import cluster_graph, read_cluster_summary, shuffle_table, write_cluster_labels
    from nnstructure.cluster.relative import method_clusterability
    from nnstructure.graph import weight_graph

    graph = weight_graph(tiny_mlp[0])
    labels, summary = cluster_graph(graph, k=12, seed=3, method="leiden", settings={"resolution": 1.5})
    write_cluster_labels(graph, labels, summary, tmp_path / "labels.parquet")
    summary = read_cluster_summary(tmp_path / "labels.parquet")
    assert summary["method"] == "leiden" and summary["method_settings"] == {"objective": "modularity", "resolution": 1.5}
    assert summary["k"] == summary["n_clusters"] == np.unique(labels[labels >= 0]).size >= 2
    assert summary["n_init"] is None and -0.5 <= summary["modularity"] <= 1
    table = shuffle_table(graph, k=12, n_shuffles=3, kind="layer", seed=5, n_jobs=2, method="leiden",
                          settings={"resolution": 1.5})
    assert list(table["index"]) == [0, 1, 2] and set(table["method"]) == {"leiden"} and set(table["device"]) == {"cpu"}
    assert (table["n_clusters"] >= 1).all() and table["modularity"].notna().all()
    same = method_clusterability(graph, "leiden", 12, 3, "layer", 5, {"resolution": 1.5})
    np.testing.assert_allclose(table["ncut"], same["shuffled_ncuts"])  # like with like: leiden on every shuffle
    np.testing.assert_allclose(table["modularity"], same["shuffled_modularities"])
    assert table["ncut"].tolist() != shuffle_table(graph, k=12, n_shuffles=3, kind="layer", seed=5)["ncut"].tolist()


def test_clusterability_spectral_steps_are_as_before(tiny_mlp):
    from nnstructure.cluster import cluster_graph, shuffle_table, spectral_clustering
    from nnstructure.cluster.methods import modularity
    from nnstructure.cluster.ncut import ncut
    from nnstructure.graph import weight_graph

    graph = weight_graph(tiny_mlp[0])
    labels, summary = cluster_graph(graph, k=4, n_init=5, seed=1)
    np.testing.assert_array_equal(labels, spectral_clustering(graph, 4, 5, 1))
    assert summary["ncut"] == ncut(graph, labels) and summary["k"] == 4 and summary["n_init"] == 5
    assert summary["method"] == "spectral" and summary["modularity"] == pytest.approx(modularity(graph, labels))
    table = shuffle_table(graph, k=4, n_shuffles=2, n_init=5, seed=1)
    assert list(table.columns) == ["index", "ncut", "n_nodes", "n_init", "device"]  # the fast path's table
    auto_labels, auto = cluster_graph(graph, k="auto", n_init=5, seed=1)
    k_auto = eigengap_k(graph.adjacency[np.asarray(graph.adjacency.sum(axis=1)).ravel() > 0][
        :, np.asarray(graph.adjacency.sum(axis=1)).ravel() > 0])[0]
    assert auto["k_setting"] == "auto" and auto["k"] == k_auto == np.unique(auto_labels[auto_labels >= 0]).size


def test_clusterability_method_params_leave_spectral_jobs_unchanged():
    import nnstructure.workflow as wc
    from nnstructure.seeding import derive_seed

    spectral = _clusterability_config()
    cell = next(iter(wc.analysis_cells(spectral, "clusterability")))
    key = wc.cell_key(cell)
    # exactly the params before partition methods existed: nothing new, so no spectral job reruns
    assert wc.cluster_params(spectral, cell, 12) == {"k": 12, "n_init": 25,
                                                     "seed": derive_seed(key, cell.phase, "cluster", 12)}
    assert wc.shuffle_params(spectral, cell, 12, "layer") == {"k": 12, "n_init": 25, "n_shuffles": 50, "kind": "layer",
                                                              "seed": derive_seed(key, cell.phase, "shuffle", "layer", 12)}
    louvain = _clusterability_config(method="louvain", method_settings={"louvain": {"resolution": 2.0},
                                                                        "leiden": {"resolution": 3.0}})
    params = wc.cluster_params(louvain, cell, 12)
    assert params["method"] == "louvain" and params["method_settings"] == {"resolution": 2.0}
    assert params["seed"] == wc.cluster_params(spectral, cell, 12)["seed"]
    assert wc.shuffle_params(louvain, cell, 12, "layer")["method"] == "louvain"
    entry = _clusterability_config()
    entry["clusterability"]["networks"]["mlp-lines"] = {"method": "infomap"}  # an entry overrides the section
    assert wc.cluster_params(entry, cell, 12)["method_settings"] == {"n_trials": 10}
    note = wc.settings_note(spectral)  # the ch3 report's params: unchanged for spectral
    assert "method" not in note and note == wc.settings_note({**spectral, "clusterability": {
        k: v for k, v in spectral["clusterability"].items() if k not in ("method", "method_settings")}})
    assert "partition method louvain (resolution 2.0)" in wc.settings_note(louvain)


def test_clusterability_method_schema():
    from nnstructure.config_check import ConfigError

    assert _clusterability_config(method="louvain")["clusterability"]["method"] == "louvain"
    assert _clusterability_config()["clusterability"]["method"] == "spectral"
    with pytest.raises(ConfigError, match=r"clusterability.*kmeans|kmeans.*clusterability"):
        _clusterability_config(method="kmeans")
    with pytest.raises(ConfigError, match="clusterability"):
        _clusterability_config(method="leiden", method_settings={"leiden": {"n_trials": 2}})


def test_cli_cluster_and_shuffles_steps_take_a_method_and_k_auto(tiny_mlp, tmp_path):
    from nnstructure.cli import main
    from nnstructure.cluster import read_cluster_summary
    from nnstructure.graph import save_graph, weight_graph
    from nnstructure.io import read_parquet

    graph = tmp_path / "graph.npz"
    save_graph(weight_graph(tiny_mlp[0]), graph)
    assert main(["cluster", str(graph), "--method", "louvain", "--resolution", "1.5", "--out", str(tmp_path / "l.parquet")]) == 0
    summary = read_cluster_summary(tmp_path / "l.parquet")
    assert summary["method"] == "louvain" and summary["method_settings"] == {"resolution": 1.5}
    assert main(["shuffles", str(graph), "--method", "louvain", "--resolution", "1.5", "--n-shuffles", "2",
                 "--out", str(tmp_path / "s.parquet")]) == 0
    assert list(read_parquet(tmp_path / "s.parquet")["method"]) == ["louvain", "louvain"]
    assert main(["cluster", str(graph), "--k", "auto", "--n-init", "3", "--out", str(tmp_path / "a.parquet")]) == 0
    auto = read_cluster_summary(tmp_path / "a.parquet")
    assert auto["method"] == "spectral" and auto["k_setting"] == "auto" and auto["k"] == auto["n_clusters"] >= 2
