"""Randomly initialised networks need no data: their dataset's shape comes from the registry, and their
weights are exactly those training would start from."""

import pytest
import torch
from conftest import trust_test_data
from test_data_loaders import write_fake_cifar, write_fake_mnist

from nnstructure.checkpoint import load_checkpoint
from nnstructure.data.registry import DATASETS, SHAPES, dataset_shape, make_dataset
from nnstructure.random_init import random_init_network
from nnstructure.train import train_from_settings


def test_every_dataset_has_the_shape_the_registry_says(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "mnist", n_train=40, n_test=20)
    write_fake_mnist(tmp_path / "fashion-mnist", n_train=40, n_test=20)
    (tmp_path / "cifar10").mkdir()
    write_fake_cifar(tmp_path / "cifar10" / "cifar-10-python.tar.gz")
    trust_test_data(monkeypatch, tmp_path)
    assert set(SHAPES) == set(DATASETS)
    for name in DATASETS:
        sizes = {"n_train": 8, "n_test": 4} if name in ("lines", "random", "memorization", "polynomial", "dots") else {}
        ds = make_dataset(name, tmp_path, **sizes)
        shape = dataset_shape(name)
        assert (shape.input_shape, shape.n_outputs, shape.task) == (ds.input_shape, ds.n_outputs, ds.task), name


@pytest.mark.parametrize("arch, dataset, settings", [
    ("mlp", "lines", {"widths": [16, 16], "dropout": 0.5}),
    ("cnn", "lines", {"clusterable_init": True, "ci_beta": 0.8}),
])
def test_random_init_weights_are_those_training_starts_from(tmp_path, arch, dataset, settings):
    random_init_network(arch, dataset, settings, seed=7, out=tmp_path / "init.pt")
    data = make_dataset(dataset, tmp_path, n_train=16, n_test=8)
    train_from_settings(data, arch=arch, settings={**settings, "epochs": 0, "prune_epochs": 0}, seed=7,
                        out=tmp_path / "trained0.pt", device="cpu", progress=False)
    ours, theirs = load_checkpoint(tmp_path / "init.pt"), load_checkpoint(tmp_path / "trained0.pt")
    assert ours.metadata["spec"] == theirs.metadata["spec"]
    assert ours.metadata["train_config"] == theirs.metadata["train_config"]
    mine, reference = ours.model.state_dict(), theirs.model.state_dict()
    assert list(mine) == list(reference) and all(torch.equal(mine[k], reference[k]) for k in mine)
    assert ours.metadata["phase"] == "init" and ours.metadata["device"] == "cpu" and "test_accuracy" not in ours.metadata


def test_a_random_init_vgg_is_built_without_cifar10(tmp_path):
    meta = random_init_network("vgg", "cifar10", {}, seed=0, out=tmp_path / "vgg.pt")
    assert meta["spec"]["input_shape"] == [3, 32, 32] and meta["spec"]["n_outputs"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vgg.pt"]
