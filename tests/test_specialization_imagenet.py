"""ImageNet VGGs in the chapter-4 pipeline, on a small randomly initialised VGG (no weights here)."""

import numpy as np
import pytest
import torch
from torch import nn

from nnstructure.data import Dataset
from nnstructure.graph import BlockGraph
from nnstructure.graph.activations import unit_layers
from nnstructure.imagenet.models import VGG
from nnstructure.specialization import (
    VisualizationSettings,
    evaluate_partition,
    lesion_class_correct,
    lesion_class_correct_naive,
    partition_network,
)
from nnstructure.specialization.imagenet import Normalize, vgg_as_sequential, vgg_weight_graph


@pytest.fixture(scope="module")
def small_vgg():
    """A VGG (its class and forward pass: features, 7x7 average pool, classifier) with 3 convs and a small
    classifier in place of the real one's 100M parameters."""
    torch.manual_seed(0)
    model = VGG.__new__(VGG)
    nn.Module.__init__(model)
    model.features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(16, 512, 3, padding=1), nn.ReLU(inplace=True),
    )
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            nn.init.uniform_(m.bias, -0.1, 0.1)
    model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    model.classifier = nn.Sequential(nn.Linear(512 * 49, 32), nn.ReLU(inplace=True), nn.Dropout(), nn.Linear(32, 10))
    return model.eval()


def _dataset():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(24, 3, 16, 16), dtype=np.uint8)
    y = rng.integers(0, 10, 24)
    return Dataset("tiny-imagenet", x[:12], y[:12], x[12:], y[12:], n_classes=10)


def test_sequential_vgg_computes_the_normalised_model(small_vgg):
    seq = vgg_as_sequential(small_vgg)
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(seq(x).numpy(), small_vgg(Normalize()(x)).numpy(), rtol=1e-5, atol=1e-6)
    assert [l.name for l in unit_layers(seq)] == ["features_0", "features_3", "features_5"]


def test_vgg_pipeline_weight_partition_lesions_and_visualisation(small_vgg):
    seq = vgg_as_sequential(small_vgg)
    graph = vgg_weight_graph(small_vgg)
    assert graph.layer_names == ["features_0", "features_3", "features_5"]
    ds = _dataset()
    part = partition_network(seq, "weight-layer", 4, graph=graph, n_init=3)
    assert part.summary["k_per_layer"].keys() == {"features_0", "features_3", "features_5"}
    last = unit_layers(seq)[-1]
    keep = np.ones((5, last.size), dtype=bool)
    for m in range(5):
        keep[m, np.random.default_rng(m).choice(last.size, 40, replace=False)] = False
    np.testing.assert_array_equal(lesion_class_correct(seq, last, keep, ds.x_test, ds.y_test, 10),
                                  lesion_class_correct_naive(seq, last, keep, ds.x_test, ds.y_test, 10))
    results, _ = evaluate_partition(seq, part.frame(), "lesion", ds, n_random=2, identity={"replicate": "0"})
    assert len(results) and results["accuracy_drop"].notna().all()
    vis = VisualizationSettings.preset("thesis", imagenet=True, steps=2)
    assert vis.transforms == "lucid-standard"
    results, images = evaluate_partition(seq, part.frame(), "visualization", ds, n_random=1, vis_settings=vis, images=True,
                                         identity={"replicate": "0"})
    assert results["vis_score"].gt(0).all() and images["channels"].eq(3).all()
    with pytest.raises(ValueError, match="no node layers"):
        partition_network(seq, "weight-network", 4, graph=BlockGraph(["a", "b", "c"], graph.layer_sizes, graph.blocks))
