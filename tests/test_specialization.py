"""Chapter 4: lesions, visualisation, subclusters, statistics and the CLI on tiny networks."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nnstructure.cli import main
from nnstructure.data import Dataset, save_dataset
from nnstructure.graph.activations import unit_layers
from nnstructure.models import build_model
from nnstructure.specialization import (
    VisualizationSettings,
    evaluate_partition,
    lesion_class_correct,
    lesion_class_correct_naive,
    lesioned_copy,
    partition_network,
    random_subclusters,
    specialization_statistics,
    true_subclusters,
    visualize_subclusters,
)


def _image_dataset(n_train=240, n_test=120, side=8, seed=0):
    """Four classes of 8x8 images: a bright bar in one of four places, plus noise."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 4, n)
        x = rng.integers(0, 60, size=(n, 1, side, side))
        for i, c in enumerate(y):
            r = 1 + 2 * c
            x[i, 0, r:r + 2, 1:side - 1] += 180
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    return Dataset("bars", x_train, y_train, x_test, y_test, n_classes=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny MLP trained for a few epochs on the bars, its checkpoint and dataset artifact."""
    from nnstructure.train import train_network

    tmp = tmp_path_factory.mktemp("ch4")
    ds = _image_dataset()
    data_path = tmp / "bars.npz"
    save_dataset(ds, data_path)
    spec = {"arch": "mlp", "input_shape": [1, 8, 8], "n_outputs": 4, "widths": [12, 12]}
    ckpt = tmp / "mlp.pt"
    train_network(ds, spec, {"epochs": 4, "prune_epochs": 0, "batch_size": 32}, seed=0, out=ckpt, device="cpu", progress=False)
    from nnstructure.checkpoint import load_checkpoint

    return load_checkpoint(ckpt).model, ds, ckpt, data_path


def _random_keep(n_masks, size, rng, max_lesion=5):
    keep = np.ones((n_masks, size), dtype=bool)
    for m in range(n_masks):
        keep[m, rng.choice(size, rng.integers(1, max_lesion + 1), replace=False)] = False
    return keep


def test_lesion_changes_only_the_chosen_units(trained):
    model, ds, _, _ = trained
    layer = unit_layers(model)[0]
    lesioned = lesioned_copy(model, layer, [2, 5], ds.input_shape)
    x = torch.as_tensor(ds.x_test).float() / 255
    with torch.no_grad():
        before = model[:2](x)
        after = lesioned[:2](x)
    changed = (before != after).any(dim=0).nonzero().flatten().tolist()
    assert set(changed) <= {2, 5} and torch.all(after[:, [2, 5]] == 0)
    # the next layer no longer reads them: its outputs ignore any value in units 2 and 5
    h = torch.relu(before)
    h_noise = h.clone()
    h_noise[:, [2, 5]] = 100.0
    with torch.no_grad():
        assert torch.equal(lesioned[3](h), lesioned[3](h_noise))


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_batched_lesions_equal_naive_lesions(trained, arch):
    rng = np.random.default_rng(0)
    if arch == "mlp":
        model, ds, _, _ = trained
    else:
        ds = _image_dataset(n_test=60)
        model = build_model({"arch": "cnn", "input_shape": [1, 8, 8], "n_outputs": 4}, seed=1)
    for layer in unit_layers(model):
        keep = _random_keep(12, layer.size, rng, max_lesion=min(8, layer.size - 1))
        fast = lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 4, max_batch_elements=500)
        naive = lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 4)
        np.testing.assert_array_equal(fast, naive)


def test_cnn_lesions_in_small_blocks_equal_naive(monkeypatch):
    # blocks of a few test inputs, each layer's prefix in chunks of 2 inputs (its widest activation, 64x8x8,
    # fills MAX_BLOCK_ELEMENTS twice): the same counts as the naive path
    import nnstructure.specialization.lesion as lesion

    monkeypatch.setattr(lesion, "MAX_BLOCK_ELEMENTS", 9000)
    ds = _image_dataset(n_test=45)
    model = build_model({"arch": "cnn", "input_shape": [1, 8, 8], "n_outputs": 4}, seed=3)
    rng = np.random.default_rng(4)
    for layer in unit_layers(model):
        keep = _edge_case_keep(layer.size, rng)
        np.testing.assert_array_equal(lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 4),
                                      lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 4))


def test_batched_lesions_equal_naive_through_batchnorm():
    # conv -> ReLU -> BatchNorm (VGG order): silencing must remove the BatchNorm shift too
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(6), nn.Conv2d(6, 5, 3, padding=1), nn.ReLU(),
        nn.BatchNorm2d(5), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 16, 4),
    )
    for bn in (model[2], model[5]):
        bn.running_mean.uniform_(0.2, 1.0)
        bn.bias.data.uniform_(-1, 1)
    model.eval()
    ds = _image_dataset(n_test=50)
    rng = np.random.default_rng(1)
    for layer in unit_layers(model):
        keep = _random_keep(6, layer.size, rng, max_lesion=3)
        np.testing.assert_array_equal(
            lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 4),
            lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 4),
        )


def _edge_case_keep(size, rng):
    """Lesions of mixed sizes in one call: none silenced, one unit, several, all but one, all."""
    keep = _random_keep(9, size, rng, max_lesion=max(1, size - 1))
    edge = np.ones((4, size), dtype=bool)
    edge[1, rng.integers(size)] = False
    edge[2, 1:] = False
    edge[3] = False
    return np.concatenate([keep, edge])


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_lesions_from_cached_unit_outputs_equal_naive(trained, arch):
    # one forward pass gives every layer's units; lesions of every layer and size from it match the naive path
    from nnstructure.specialization.lesion import class_correct, unit_outputs

    rng = np.random.default_rng(2)
    if arch == "mlp":
        model, ds, _, _ = trained
    else:
        ds = _image_dataset(n_test=40)
        model = build_model({"arch": "cnn", "input_shape": [1, 8, 8], "n_outputs": 4}, seed=2)
    layers = unit_layers(model)
    outputs = unit_outputs(model, layers, ds.x_test)
    with torch.no_grad():
        x = torch.as_tensor(ds.x_test).float() / 255
        assert torch.equal(outputs[layers[0].name], model[:layers[0].mask_index](x))
    for layer in layers:
        keep = _edge_case_keep(layer.size, rng)
        naive = lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 4)
        cached = lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 4, outputs=outputs[layer.name],
                                      max_batch_elements=700)
        np.testing.assert_array_equal(cached, naive)
        np.testing.assert_array_equal(cached[9], class_correct(model, ds.x_test, ds.y_test, 4))  # silences nothing
    assert unit_outputs(model, layers, ds.x_test, max_elements=10) is None  # too large to keep: None


@pytest.mark.parametrize("tolerance", [0.0, 1e9])
def test_low_rank_update_and_exact_recompute_each_equal_naive(trained, monkeypatch, tolerance):
    # tolerance 0: every decision from z - h_S W_S^T; huge: every pair recomputed by the masked forward pass
    import nnstructure.specialization.lesion as lesion

    model, ds, _, _ = trained
    monkeypatch.setattr(lesion, "MARGIN_TOLERANCE", tolerance)
    rng = np.random.default_rng(3)
    for layer in unit_layers(model):
        keep = _edge_case_keep(layer.size, rng)
        np.testing.assert_array_equal(
            lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 4, max_batch_elements=300),
            lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 4),
        )


def test_max_pool_2x2_is_the_module_exactly():
    # the lesions' 2x2 max-pool (two elementwise maxima) gives MaxPool2d(2)'s values bit for bit, odd sizes
    # cropped, infinities and NaNs propagated; other pools keep the module
    from nnstructure.specialization.lesion import _is_max_pool_2x2, _run, max_pool_2x2

    g = torch.Generator().manual_seed(5)
    for shape in [(3, 5, 28, 28), (2, 4, 7, 9), (1, 2, 2, 3)]:
        x = torch.randn(shape, generator=g)
        x[0, 0, 0, 0], x[-1, -1, 1, 1] = float("inf"), float("nan")
        expected = nn.MaxPool2d(2)(x)
        got = max_pool_2x2(x)
        assert got.shape == expected.shape
        assert torch.equal(got.nan_to_num(7.0), expected.nan_to_num(7.0)) and torch.equal(got.isnan(), expected.isnan())
        assert torch.equal(_run([nn.ReLU(), nn.MaxPool2d(2)], x).nan_to_num(7.0),
                           nn.MaxPool2d(2)(torch.relu(x)).nan_to_num(7.0))
    assert _is_max_pool_2x2(nn.MaxPool2d(2)) and _is_max_pool_2x2(nn.MaxPool2d((2, 2), stride=2))
    assert not any(_is_max_pool_2x2(m) for m in (nn.MaxPool2d(3), nn.MaxPool2d(2, stride=1), nn.MaxPool2d(2, padding=1),
                                                 nn.MaxPool2d(2, ceil_mode=True), nn.AvgPool2d(2)))


def test_lesioned_pre_activations_are_the_masked_ones():
    # the low-rank update of a Linear (through Flatten, several columns per channel) and a Conv2d consumer
    from nnstructure.specialization.lesion import _consume, _consumer, _lesioned_pre_activations

    torch.manual_seed(4)
    h = torch.relu(torch.randn(5, 6, 3, 3))
    units = torch.tensor([[0, 4], [2, 3], [5, 1]])
    for suffix in ([nn.Flatten(), nn.Linear(54, 7)], [nn.Conv2d(6, 4, 3, padding=1, stride=2)]):
        consumer = _consumer(suffix)
        got = _lesioned_pre_activations(consumer, h, _consume(consumer, h), units).view(3, 5, -1)
        for g in range(3):
            masked = h.clone()
            masked[:, units[g]] = 0
            torch.testing.assert_close(got[g], _consume(consumer, masked).flatten(1), rtol=1e-5, atol=1e-5)
    assert _consumer([nn.Conv2d(6, 4, 3, padding=1, padding_mode="reflect")]) is None  # masked fallback


def _planted_model():
    """4 inputs (one-hot class) -> 12 hidden units -> 4 logits. Units 0, 1 alone carry class 0; classes 1-3
    are carried by three units each, each of which alone suffices."""
    w1 = torch.zeros(12, 4)
    w1[0, 0] = w1[1, 0] = 1.0
    for c in range(1, 4):
        w1[2 + 3 * (c - 1): 5 + 3 * (c - 1), c] = 1.0
    w2 = torch.zeros(4, 12)
    w2[0, 0] = w2[0, 1] = 2.0
    for c in range(1, 4):
        w2[c, 2 + 3 * (c - 1): 5 + 3 * (c - 1)] = 1.0
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 4))
    with torch.no_grad():
        model[1].weight.copy_(w1)
        model[1].bias.fill_(-0.5)  # a unit fires only on its class
        model[3].weight.copy_(w2)
        model[3].bias.fill_(0.0)
        model[3].bias[0] = -1.5  # class 0 (logit 2 x 0.5 x 2 - 1.5) needs both of its units
    return model.eval()


def test_planted_subcluster_carrying_one_class_is_most_important_and_class_specific():
    model = _planted_model()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    x = np.eye(4, dtype=np.float32)[y] + rng.normal(0, 0.05, (400, 4)).astype(np.float32)
    ds = Dataset("planted", x[:200], y[:200], x[200:], y[200:], n_classes=4)
    labels = pd.DataFrame({"layer": 1, "layer_name": "1", "unit": np.arange(12),
                           "label": [0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 2, 2]})
    results, _ = evaluate_partition(model, labels, "lesion", ds, n_random=19, seed=0,
                                    identity={"condition": "planted", "replicate": "0"})
    true = results[results["is_true"]].set_index("label")
    assert true.loc[0, "accuracy_drop"] == pytest.approx((ds.y_test == 0).mean())
    assert true.loc[0, "class_range"] == pytest.approx(1.0)
    _, _, pct = specialization_statistics(results)
    pct = pct.set_index(["metric", "label"])["percentile"]
    lowest = 0.5 / 20
    assert pct[("accuracy_drop", 0)] == pytest.approx(lowest)
    assert pct[("class_range", 0)] == pytest.approx(lowest)
    assert pct[("accuracy_drop", 0)] < pct[("accuracy_drop", 1)]


def test_subclusters_and_random_controls(trained):
    model, _, _, _ = trained
    layers = unit_layers(model)
    labels = pd.DataFrame({
        "layer_name": ["1"] * 12 + ["3"] * 12, "unit": list(range(12)) * 2,
        "label": [0] * 1 + [1] * 5 + [2] * 6 + [4] * 12,  # one singleton, a whole layer
    })
    labels.loc[6, "label"] = -1
    subs = true_subclusters(labels, layers)
    assert [(s.layer, s.label, s.size) for s in subs] == [("1", 1, 5), ("1", 2, 5)]
    r1 = random_subclusters(subs[0], 19, seed=3)
    assert r1.shape == (19, 5) and np.array_equal(r1, random_subclusters(subs[0], 19, seed=3))
    assert all(len(set(row)) == 5 and row.max() < 12 for row in r1)
    with_edges = random_subclusters(subs[0], 50, seed=3, pool="with-edges", labelled_units=np.delete(np.arange(12), 6))
    assert 6 not in with_edges
    with pytest.raises(ValueError, match="another network"):
        true_subclusters(labels[labels["layer_name"] == "1"], layers)


@pytest.mark.parametrize("method", ["thesis", "original"])
def test_batched_visualisation_equals_one_image_at_a_time(trained, method):
    model, ds, _, _ = trained
    layer = unit_layers(model)[1]
    settings = VisualizationSettings.preset(method, steps=5)
    masks = np.zeros((4, layer.size), dtype=bool)
    for i in range(4):
        masks[i, [i, i + 3, i + 6]] = True
    batch = visualize_subclusters(model, layer, masks, [11, 12, 13, 14], settings, ds.input_shape)
    single = [visualize_subclusters(model, layer, masks[i:i + 1], [11 + i], settings, ds.input_shape) for i in range(4)]
    np.testing.assert_allclose(batch["score"], [s["score"][0] for s in single], rtol=1e-4)
    np.testing.assert_allclose(batch["softmax_entropy"], [s["softmax_entropy"][0] for s in single], rtol=1e-4, atol=1e-6)
    assert batch["images"].shape == (4, 3 if method == "original" else 1, 8, 8)
    assert batch["images"].min() >= 0 and batch["images"].max() <= 1
    # without transformations, optimisation raises the objective above that of the starting image
    still = VisualizationSettings.preset(method, steps=1, lr=1e-9, transforms="none")
    moved = VisualizationSettings.preset(method, steps=10, transforms="none")
    start = visualize_subclusters(model, layer, masks, [11, 12, 13, 14], still, ds.input_shape)
    end = visualize_subclusters(model, layer, masks, [11, 12, 13, 14], moved, ds.input_shape)
    assert np.all(end["score"] > start["score"])


def test_bad_inputs_name_the_problem(trained, tmp_path, capsys):
    model, ds, ckpt, data_path = trained
    with pytest.raises(ValueError, match="no hidden layer"):
        partition_network(nn.Sequential(nn.Flatten(), nn.Linear(64, 4)), "weight-network", 4)
    with pytest.raises(ValueError, match="lower --k"):
        partition_network(model, "act-network", 30, inputs=ds.x_train)
    with pytest.raises(ValueError, match="needs inputs"):
        partition_network(model, "act-layer", 4)
    assert main(["specialization", str(ckpt), "--dataset", str(tmp_path / "missing.npz"), "--proxies", "lesion"]) == 1
    assert "missing.npz does not exist" in capsys.readouterr().err
    assert main(["specialization", str(ckpt), "--proxies", "lesion"]) == 1
    assert "--dataset DATA.npz or --data-dir" in capsys.readouterr().err
    assert main(["specialization", str(tmp_path / "none.pt"), "--dataset", str(data_path)]) == 1
    assert "train the network first" in capsys.readouterr().err


def test_cli_steps_and_json(trained, tmp_path, capsys):
    _, _, ckpt, data_path = trained
    common = ["--dataset", str(data_path), "--seed", "1"]
    labels = tmp_path / "labels.parquet"
    assert main(["partition", str(ckpt), "--partitioning", "act-network", "--k", "4", "--validation-size", "100", *common,
                 "--out", str(labels)]) == 0
    layer_labels = tmp_path / "layer.parquet"
    assert main(["partition", str(ckpt), "--partitioning", "act-layer", "--k", "4", "--validation-size", "100", *common,
                 "--network-labels", str(labels), "--out", str(layer_labels)]) == 0
    outs = []
    for proxy in ("lesion", "visualization"):
        out = tmp_path / f"{proxy}.parquet"
        extra = ["--vis-steps", "3", "--images", str(tmp_path / "images.parquet")] if proxy == "visualization" else []
        assert main(["subcluster-proxy", str(ckpt), "--labels", str(layer_labels), "--proxy", proxy, "--n-random", "4",
                     *common, *extra, "--out", str(out)]) == 0
        outs.append(str(out))
    lesion = pd.read_parquet(outs[0])
    assert {"accuracy_drop", "class_range", "class_range_normalized", "random_pool", "lesion_method"} <= set(lesion.columns)
    assert (lesion.groupby(["layer", "label"]).size() == 5).all()
    images = pd.read_parquet(tmp_path / "images.parquet")
    assert len(images) == 2 * lesion["is_true"].sum() and len(images["image"].iloc[0]) == 64
    stats_path = tmp_path / "stats.parquet"
    assert main(["specialization-stats", *outs, "--out", str(stats_path), "--percentiles", str(tmp_path / "pct.parquet")]) == 0
    stats = pd.read_parquet(stats_path)
    assert set(stats["metric"]) == {"accuracy_drop", "class_range", "class_range_normalized", "vis_score", "softmax_entropy"}
    capsys.readouterr()
    assert main(["specialization", str(ckpt), "--partitioning", "weight-layer", "--k", "6", "--n-random", "3",
                 "--vis-steps", "2", *common, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["metrics"]) == {"accuracy_drop", "class_range", "class_range_normalized", "vis_score", "softmax_entropy"}
    for values in report["metrics"].values():
        assert set(values) == {"fisher", "p_value", "effect", "effect_se", "n_subclusters"}
        assert values["n_subclusters"] > 0 and 0 <= values["p_value"] <= 1


def test_network_made_elsewhere_is_partitioned_like_our_checkpoint(trained, tmp_path):
    """A TorchScript file of the same weights gives the same weight partition as our checkpoint."""
    model, _, ckpt, data_path = trained
    scripted = tmp_path / "external.pt"
    torch.jit.save(torch.jit.script(model.eval()), scripted)
    outs = {}
    for name, path in (("ours", ckpt), ("external", scripted)):
        outs[name] = tmp_path / f"{name}.parquet"
        assert main(["partition", str(path), "--partitioning", "weight-network", "--k", "3", "--dataset", str(data_path),
                     "--seed", "2", "--out", str(outs[name])]) == 0
    ours, external = pd.read_parquet(outs["ours"]), pd.read_parquet(outs["external"])
    assert np.array_equal(ours["label"].to_numpy(), external["label"].to_numpy())
    pickled = tmp_path / "pickled.pt"
    torch.save(model, pickled)
    assert main(["partition", str(pickled), "--partitioning", "weight-network", "--k", "3", "--dataset", str(data_path),
                 "--out", str(tmp_path / "p.parquet")]) == 1
    assert main(["partition", str(pickled), "--partitioning", "weight-network", "--k", "3", "--dataset", str(data_path),
                 "--seed", "2", "--allow-pickle", "--out", str(tmp_path / "p.parquet")]) == 0
    assert np.array_equal(pd.read_parquet(tmp_path / "p.parquet")["label"].to_numpy(), ours["label"].to_numpy())


def _two_subcluster_results(true_entropies, random_entropies):
    """A visualisation results table of one network: true subclusters with their random ones (softmax entropy)."""
    rows = []
    for label, (x, rand) in enumerate(zip(true_entropies, random_entropies)):
        for r, value in enumerate([x, *rand]):
            rows.append({"condition": "c", "replicate": "0", "proxy": "visualization", "layer": "1", "layer_position": 0,
                         "label": label, "size": 3, "is_true": r == 0, "random_index": r - 1,
                         "softmax_entropy": value, "vis_score": 1.0})
    return pd.DataFrame(rows)


def test_effect_definition_is_applied_and_recorded_in_every_statistics_table():
    results = _two_subcluster_results([2.0, 0.0, 1.0], [[1.0, 3.0], [1.0, 1.0], [1.0, 1.0]])
    text = specialization_statistics(results)
    code = specialization_statistics(results, effect_definition="original-code")
    for tables, definition in ((text, "thesis-text"), (code, "original-code")):
        for table in tables:
            assert (table["effect_definition"] == definition).all()
    entropy = {name: tables[0].set_index("metric").loc["softmax_entropy"] for name, tables in (("text", text), ("code", code))}
    # text: mean(2*2/(2+2), 0, 2*1/(1+1)); code: x = 0 dropped, mean(mean(4/3, 4/5), 1)
    assert entropy["text"]["effect"] == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    assert entropy["code"]["effect"] == pytest.approx(((4 / 3 + 4 / 5) / 2 + 1.0) / 2)
    assert entropy["text"]["n_effect_subclusters"] == 3 and entropy["code"]["n_effect_subclusters"] == 2
    assert entropy["code"]["n_subclusters"] == 3  # the Fisher statistic still counts every subcluster
    assert entropy["code"]["fisher"] == entropy["text"]["fisher"]
    with pytest.raises(ValueError, match="effect_definition"):
        specialization_statistics(results, effect_definition="pairwise")


def test_effect_definition_reaches_the_stats_params_only_when_not_the_default():
    from pathlib import Path

    from snakemake.utils import validate

    from nnstructure.workflow.specialization import specialization_stats_params

    schema = str(Path(__file__).resolve().parents[1] / "config" / "schema.yaml")
    default = {"specialization": {}}
    validate(default, schema)  # fills the schema's defaults, effect_definition among them
    assert default["specialization"]["effect_definition"] == "thesis-text"
    assert specialization_stats_params(default) == {"ties": "strict", "alpha": 0.05, "family_class_range": "raw"}
    chosen = {"specialization": {"effect_definition": "original-code"}}
    validate(chosen, schema)
    assert specialization_stats_params(chosen)["effect_definition"] == "original-code"
    with pytest.raises(Exception, match="pairwise"):
        validate({"specialization": {"effect_definition": "pairwise"}}, schema)


def test_effect_definition_reaches_the_stats_step_and_the_cli(tmp_path, capsys):
    from nnstructure.io import read_parquet, write_parquet
    from nnstructure.specialization.steps import specialization_stats

    results = tmp_path / "results.parquet"
    write_parquet(_two_subcluster_results([2.0, 0.0, 1.0], [[1.0, 3.0], [1.0, 1.0], [1.0, 1.0]]), results)
    for definition in ("thesis-text", "original-code"):
        out = tmp_path / f"{definition}.parquet"
        specialization_stats([str(results)], str(out), {"effect_definition": definition})
        assert (read_parquet(out)["effect_definition"] == definition).all()
    out = tmp_path / "cli.parquet"
    assert main(["specialization-stats", str(results), "--out", str(out), "--effect-definition", "original-code"]) == 0
    assert (read_parquet(out)["effect_definition"] == "original-code").all()
