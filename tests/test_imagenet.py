"""ImageNet models (torchvision layout), weight files and channel weight graphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnstructure.imagenet import (
    IMAGENET_ARCHS,
    build_imagenet_model,
    find_imagenet_weights,
    imagenet_weight_graph,
    kernel_slice_norms,
    load_imagenet_weights,
)

# state_dict sizes of torchvision.models.<arch>() (Inception with aux_logits=True), checked
# key-for-key, in order and shape, against torchvision 0.29.1's model source (see report).
# By hand: resnet50 = 53 convs + 53 BN x 5 entries (weight, bias, running mean/var,
# num_batches_tracked) + fc weight/bias = 320; vgg16 = (13 convs + 3 linears) x 2 = 32.
TORCHVISION_STATE_DICT_SIZES = {
    "vgg16": 32, "vgg19": 38, "resnet18": 122, "resnet34": 218, "resnet50": 320, "inception_v3": 580,
}
KNOWN_KEYS = {
    "vgg16": {"features.0.weight": (64, 3, 3, 3), "features.28.weight": (512, 512, 3, 3), "classifier.0.weight": (4096, 25088)},
    "vgg19": {"features.34.weight": (512, 512, 3, 3), "classifier.6.bias": (1000,)},
    "resnet18": {"layer1.0.conv1.weight": (64, 64, 3, 3), "layer2.0.downsample.0.weight": (128, 64, 1, 1), "fc.weight": (1000, 512)},
    "resnet34": {"layer3.5.conv2.weight": (256, 256, 3, 3), "layer4.2.bn2.num_batches_tracked": ()},
    "resnet50": {"layer1.0.conv3.weight": (256, 64, 1, 1), "layer1.0.downsample.0.weight": (256, 64, 1, 1), "fc.weight": (1000, 2048)},
    "inception_v3": {
        "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3), "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
        "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1), "AuxLogits.conv1.conv.weight": (768, 128, 5, 5),
        "fc.weight": (1000, 2048),
    },
}


def _meta_model(arch: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build_imagenet_model(arch, **kwargs)


@pytest.mark.parametrize("arch", IMAGENET_ARCHS)
def test_state_dict_layout_matches_torchvision(arch):
    state = _meta_model(arch).state_dict()
    assert len(state) == TORCHVISION_STATE_DICT_SIZES[arch]
    for key, shape in KNOWN_KEYS[arch].items():
        assert tuple(state[key].shape) == shape, key


def test_inception_without_aux_drops_exactly_the_aux_head():
    with_aux, without = _meta_model("inception_v3").state_dict(), _meta_model("inception_v3", aux_logits=False).state_dict()
    assert set(with_aux) - set(without) == {k for k in with_aux if k.startswith("AuxLogits.")}
    assert len(without) == 566  # 94 BasicConv2d x 6 + fc weight/bias


@pytest.mark.parametrize("arch,side", [("resnet18", 64), ("resnet50", 64), ("vgg16", 32), ("inception_v3", 75)])
def test_forward_gives_logits(arch, side):
    torch.manual_seed(0)
    model = build_imagenet_model(arch, num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, side, side))
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_unknown_arch_is_named():
    with pytest.raises(ValueError, match="alexnet"):
        build_imagenet_model("alexnet")


# ---------------------------------------------------------------- weight files
def test_weight_file_round_trip_is_strict_and_exact(tmp_path):
    torch.manual_seed(1)
    model = build_imagenet_model("resnet18")
    (tmp_path / "imagenet").mkdir()
    torch.save(model.state_dict(), tmp_path / "imagenet" / "resnet18-f37072fd.pth")
    assert find_imagenet_weights(tmp_path) == {"resnet18": tmp_path / "imagenet" / "resnet18-f37072fd.pth"}
    loaded = load_imagenet_weights("resnet18", tmp_path)
    assert not loaded.training
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_weight_lookup_order_and_custom_names(tmp_path):
    d = tmp_path / "imagenet"
    d.mkdir()
    for name in ["resnet34-333f7ec4.pth", "vgg16.pth", "vgg16-397923af.pth", "my_inception.pth"]:
        (d / name).write_bytes(b"")
    found = find_imagenet_weights(tmp_path, filenames={"inception_v3": "my_inception.pth"})
    assert found == {"resnet34": d / "resnet34-333f7ec4.pth", "vgg16": d / "vgg16.pth", "inception_v3": d / "my_inception.pth"}


def test_missing_weights_error_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_imagenet_weights("resnet50", tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "imagenet" / "resnet50-0676ba61.pth") in msg
    assert "https://download.pytorch.org/models/resnet50-0676ba61.pth" in msg


def test_wrong_architecture_weights_are_rejected(tmp_path):
    torch.save(build_imagenet_model("resnet18").state_dict(), tmp_path / "resnet34.pth")
    with pytest.raises(ValueError, match="resnet34"):
        load_imagenet_weights("resnet34", tmp_path)


def test_a_pickled_model_is_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "resnet18.pth")
    with pytest.raises(ValueError, match="state_dict"):
        load_imagenet_weights("resnet18", tmp_path)


# ---------------------------------------------------------------- graphs
def test_kernel_slice_norms_by_hand():
    w = np.array([[[[1.0, -2.0], [3.0, 0.5]]]])  # (out=1, in=1, 2, 2)
    w = np.concatenate([w, 2 * w], axis=0)  # out=2
    assert kernel_slice_norms(w, "l1").tolist() == [[6.5, 13.0]]
    # the original code: numpy matrix 1-norm = max absolute column sum = max(1+3, 2+0.5)
    assert kernel_slice_norms(w, "l1-matrix").tolist() == [[4.0, 8.0]]
    assert np.allclose(kernel_slice_norms(w, "l2"), [[np.sqrt(14.25), 2 * np.sqrt(14.25)]])
    assert kernel_slice_norms(w, "l1-matrix")[0, 0] == np.linalg.norm(w[0, 0], 1)
    with pytest.raises(ValueError, match="kernel_norm"):
        kernel_slice_norms(w, "l3")


class _Toy(nn.Module):
    """stem -> {a, b} -> cat -> c (+ BN) -> add(c, d(cat)) -> fc; small enough to write the graph by hand."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 2, 1)
        self.a = nn.Conv2d(2, 2, 3, padding=1)
        self.b = nn.Conv2d(2, 1, 1)
        self.c = nn.Conv2d(3, 2, 1)
        self.bn = nn.BatchNorm2d(2)
        self.d = nn.Conv2d(3, 2, 1)
        self.fc = nn.Linear(2, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = torch.cat([self.a(x), self.b(x)], 1)
        z = self.bn(self.c(y)) + self.d(y)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(z, 1), 1))


def test_toy_graph_matches_hand_construction():
    torch.manual_seed(3)
    toy = _Toy()
    toy.bn.weight.data = torch.tensor([-2.0, 0.5])
    toy.bn.running_var.data = torch.tensor([3.0, 0.25])
    g = imagenet_weight_graph(toy, "toy")
    assert g.layer_names == ["a.input", "b.input", "c.input[0:2]", "c.input[2:3]", "d.input[0:2]", "d.input[2:3]", "fc.input"]
    assert g.layer_sizes == [2, 2, 2, 1, 2, 1, 2]
    norms = {n: np.abs(getattr(toy, n).weight.detach().double().numpy()).sum(axis=(2, 3)).T for n in "abcd"}
    bn = np.array([2.0 / np.sqrt(3.0 + 1e-5), 0.5 / np.sqrt(0.25 + 1e-5)])
    expected = {
        (0, 2): norms["a"], (0, 4): norms["a"], (1, 3): norms["b"], (1, 5): norms["b"],
        (2, 6): norms["c"][0:2] * bn, (3, 6): norms["c"][2:3] * bn, (4, 6): norms["d"][0:2], (5, 6): norms["d"][2:3],
    }
    got = {(b.src, b.dst): b.weights for b in g.blocks}
    assert set(got) == set(expected)
    for key, w in expected.items():
        np.testing.assert_allclose(got[key], w, rtol=1e-12)
    assert g.meta["groups"][6]["producers"] == ["c", "d"]
    unfolded = {(b.src, b.dst): b.weights for b in imagenet_weight_graph(toy, "toy", fold_batchnorm=False).blocks}
    np.testing.assert_allclose(unfolded[(2, 6)], norms["c"][0:2], rtol=1e-12)


def test_unsupported_layers_are_named():
    class Depthwise(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.dw = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, groups=4)

        def forward(self, x):
            return self.dw(self.stem(x))

    with pytest.raises(ValueError, match="dw"):
        imagenet_weight_graph(Depthwise(), "toy")


def _check_graph_basics(g, assemble=True):
    if assemble:
        adj = g.adjacency
        assert adj.shape == (g.n_nodes, g.n_nodes)
        assert (adj != adj.T).nnz == 0
        assert adj.data.min() >= 0
    for b in g.blocks:
        assert b.weights.shape == (g.layer_sizes[b.src], g.layer_sizes[b.dst])
    # every node group takes part in at least one block
    assert {b.src for b in g.blocks} | {b.dst for b in g.blocks} == set(range(len(g.layer_sizes)))


def test_vgg16_graph():
    torch.manual_seed(4)
    model = build_imagenet_model("vgg16")
    g = imagenet_weight_graph(model, "vgg16")
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    # inputs of conv1_2 ... conv5_3, then the classifier's input: one group per conv layer's outputs
    assert g.layer_sizes == widths and g.n_nodes == 4224
    assert g.layer_names[0] == "features.2.input" and g.layer_names[-1] == "classifier.0.input"
    assert [(b.src, b.dst) for b in g.blocks] == [(i, i + 1) for i in range(12)]
    w = model.features[2].weight.detach().double().numpy()  # conv1_2: 64 -> 64
    np.testing.assert_allclose(g.blocks[0].weights, np.abs(w).sum(axis=(2, 3)).T, rtol=1e-12)
    _check_graph_basics(g)


def test_resnet18_graph_skip_connections_and_batchnorm():
    torch.manual_seed(5)
    model = build_imagenet_model("resnet18")
    for m in model.modules():  # trained-looking BN statistics, including negative gammas
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(-1.5, 1.5)
            m.running_var.data.uniform_(0.1, 4.0)
    g = imagenet_weight_graph(model, "resnet18")
    assert len(g.layer_sizes) == 20 and g.n_nodes == 4352  # 19 non-stem convs' inputs + fc input
    _check_graph_basics(g)
    idx = {n: i for i, n in enumerate(g.layer_names)}
    # layer1.0.conv2's output, through the identity shortcuts, reaches three consumers
    src = idx["layer1.0.conv2.input"]
    dsts = sorted(g.layer_names[b.dst] for b in g.blocks if b.src == src)
    assert dsts == ["layer1.1.conv1.input", "layer2.0.conv1.input", "layer2.0.downsample.0.input"]
    # the input of layer2.0.conv1 is the sum of layer1.1.conv2's and (via identity) layer1.0.conv2's outputs
    into = sorted(g.layer_names[b.src] for b in g.blocks if b.dst == idx["layer2.0.conv1.input"])
    assert into == ["layer1.0.conv2.input", "layer1.1.conv2.input"]
    # BN folding by hand for one slice: edge (input channel i -> output channel j) of layer1.0.conv2
    block = next(b for b in g.blocks if b.src == src and b.dst == idx["layer1.1.conv1.input"])
    w = model.layer1[0].conv2.weight.detach().double().numpy()
    bn = model.layer1[0].bn2
    i, j = 5, 17
    gamma, var = float(bn.weight.detach()[j]), float(bn.running_var[j])
    assert block.weights[i, j] == pytest.approx(np.abs(w[j, i]).sum() * abs(gamma) / np.sqrt(var + 1e-5), rel=1e-12)
    # the graph from the state dict (structure from the arch name) is the same
    g2 = imagenet_weight_graph(model.state_dict(), "resnet18", kernel_norm="l2")
    assert g2.layer_names == g.layer_names and len(g2.blocks) == len(g.blocks)
    b2 = next(b for b in g2.blocks if b.src == src and b.dst == idx["layer1.1.conv1.input"])
    assert b2.weights[i, j] == pytest.approx(np.sqrt((w[j, i] ** 2).sum()) * abs(gamma) / np.sqrt(var + 1e-5), rel=1e-12)


def test_inception_graph_splits_concatenated_inputs():
    torch.manual_seed(6)
    model = build_imagenet_model("inception_v3")  # torchvision's files include the auxiliary head
    g = imagenet_weight_graph(model.state_dict(), "inception_v3")
    _check_graph_basics(g, assemble=False)  # 21M edges: assembling them is the slow part, checked on the smaller nets
    assert len(g.layer_sizes) == 231 and g.n_nodes == 42272
    groups = g.meta["groups"]
    # every consumer's groups tile its input channels exactly
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    by_consumer: dict[str, list] = {}
    for grp in groups:
        by_consumer.setdefault(grp["consumer"], []).append(grp["channels"])
    for name, ranges in by_consumer.items():
        width = convs[name].in_channels if name in convs else 2048
        assert ranges[0][0] == 0 and ranges[-1][1] == width and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    # the stem reads the image, and the auxiliary head only runs in training: neither is in the graph
    assert "Conv2d_1a_3x3.conv" not in by_consumer and not any(c.startswith("AuxLogits") for c in by_consumer)
    # Mixed_6b reads Mixed_6a = cat[branch3x3 (384), branch3x3dbl (96), maxpool(Mixed_5d) (64, 64, 96, 64)]
    assert [b - a for a, b in by_consumer["Mixed_6b.branch1x1.conv"]] == [384, 96, 64, 64, 96, 64]
    # a row slice of Mixed_6b.branch1x1's kernel norms, BN-folded, feeds Mixed_6c's first groups
    idx = {n: i for i, n in enumerate(g.layer_names)}
    src, dst = idx["Mixed_6b.branch1x1.conv.input[384:480]"], idx["Mixed_6c.branch1x1.conv.input[0:192]"]
    block = next(b for b in g.blocks if b.src == src and b.dst == dst)
    w = model.Mixed_6b.branch1x1.conv.weight.detach().double().numpy()
    bn = model.Mixed_6b.branch1x1.bn
    factor = np.abs(bn.weight.detach().double().numpy()) / np.sqrt(bn.running_var.detach().double().numpy() + 0.001)
    np.testing.assert_allclose(block.weights, np.abs(w).sum(axis=(2, 3)).T[384:480] * factor, rtol=1e-12)
    assert g.layer_names[-6:] == [f"fc.input[{a}:{b}]" for a, b in by_consumer["fc"]]
