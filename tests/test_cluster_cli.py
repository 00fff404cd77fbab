"""The clusterability / graph / cluster / shuffles commands, end to end on small networks."""

import json
import numpy as np
import pytest
import torch

from nnstructure.checkpoint import save_checkpoint
from nnstructure.cli import main
from nnstructure.cluster import read_cluster_summary, relative_clusterability, relative_clusterability_stats
from nnstructure.graph import load_graph, save_graph, weight_graph
from nnstructure.io import ArtifactError, read_parquet
from nnstructure.models import build_model, model_spec


def _model():
    spec = model_spec("mlp", [1, 5, 6], 5, widths=[20, 20])
    model = build_model(spec, seed=0)
    with torch.no_grad():
        model[1].weight[:, 3] = 0  # input 3 is pruned away entirely
    return model, spec


@pytest.fixture
def checkpoint(tmp_path):
    model, spec = _model()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"spec": spec})
    return path


def test_graph_cluster_shuffles_steps_agree_with_library(tmp_path, checkpoint, capsys):
    ckpt = checkpoint
    graph_path = tmp_path / "g.npz"
    assert main(["graph", str(ckpt), "--kernel-norm", "l2", "--out", str(graph_path)]) == 0
    graph = load_graph(graph_path)
    assert graph.layer_sizes == [30, 20, 20, 5] and graph.meta["kernel_norm"] == "l2"

    labels_path = tmp_path / "labels.parquet"
    summary_path = tmp_path / "ncut.json"
    assert main(["cluster", str(graph_path), "--k", "3", "--n-init", "auto", "--seed", "4", "--out", str(labels_path), "--summary", str(summary_path)]) == 0
    labels = read_parquet(labels_path)
    assert list(labels.columns) == ["layer", "layer_name", "unit", "label"]
    assert len(labels) == 75 and labels.loc[3, "label"] == -1 and labels.loc[3, "layer_name"] == "input"
    summary = read_cluster_summary(labels_path)
    assert summary == json.loads(summary_path.read_text())
    assert summary["n_nodes"] == 74 and summary["n_init"] == 25 and summary["k"] == 3

    shuffles_path = tmp_path / "shuffles.parquet"
    assert main(["shuffles", str(graph_path), "--k", "3", "--n-init", "auto", "--n-shuffles", "5", "--kind", "nonzero", "--seed", "4", "--jobs", "1", "--out", str(shuffles_path)]) == 0
    shuffles = read_parquet(shuffles_path)
    assert shuffles["index"].tolist() == list(range(5)) and (shuffles["n_nodes"] == 74).all()

    # the workflow's split steps reproduce the one-call library result
    lib = relative_clusterability(graph, k=3, n_shuffles=5, kind="nonzero", n_init="auto", seed=4, device="cpu")
    assert summary["ncut"] == pytest.approx(lib["ncut"])
    np.testing.assert_allclose(shuffles["ncut"], lib["shuffled_ncuts"])
    assert relative_clusterability_stats(summary["ncut"], shuffles["ncut"])["p_value"] == lib["p_value"]

    capsys.readouterr()
    out_path = tmp_path / "row.parquet"
    assert main(["clusterability", str(ckpt), "--k", "3", "--n-shuffles", "5", "--kind", "nonzero", "--seed", "4", "--n-init", "auto", "--kernel-norm", "l2", "--json", "--out", str(out_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"ncut", "shuffle_mean", "shuffle_std", "p_value", "z_score", "k", "n_nodes", "n_shuffles"}
    assert printed["ncut"] == pytest.approx(lib["ncut"]) and printed["n_nodes"] == 74
    row = read_parquet(out_path)
    assert len(row) == 1 and row.loc[0, "n_init"] == 25 and row.loc[0, "shuffle"] == "nonzero" and row.loc[0, "kernel_norm"] == "l2"


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert main(["cluster", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "l.parquet")]) == 1
    assert "nope.npz" in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(ArtifactError, match="bad.parquet"):
        read_cluster_summary(bad)
    with pytest.raises(SystemExit):
        main(["shuffles", "g.npz", "--kind", "everything", "--out", "x"])


def test_weight_graph_from_checkpoint_path(tmp_path, checkpoint):
    g = weight_graph(checkpoint)
    assert g.layer_names == ["input", "1", "3", "5"]
    np.testing.assert_allclose(g.blocks[2].weights, _model()[0][5].weight.detach().abs().numpy().T)
    save_graph(g, tmp_path / "g.npz")
    assert load_graph(tmp_path / "g.npz").meta["kind"] == "mlp"
