"""Networks from files: every accepted format, the refusals, and the CLI commands that read networks."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from nnstructure.checkpoint import save_checkpoint
from nnstructure.graph import weight_graph
from nnstructure.models import build_model, model_spec
from nnstructure.network_io import (
    ACCEPTED_FORMATS,
    NetworkFormatError,
    load_network,
    load_sequential,
    state_dict_sequential,
)


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).eval()


def cnn():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 4 * 4, 3),
    ).eval()
    bn = model[1]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 2)
    return model


def same_graph(a, b, kernel_norm="l1"):
    ga, gb = weight_graph(a, kernel_norm=kernel_norm), weight_graph(b, kernel_norm=kernel_norm)
    return ga.layer_sizes == gb.layer_sizes and np.allclose(ga.adjacency.toarray(), gb.adjacency.toarray())


def test_our_checkpoint_comes_with_its_metadata(tmp_path):
    spec = model_spec("mlp", [6], 3, widths=[5])
    model = build_model(spec, seed=0)
    save_checkpoint(tmp_path / "m.pt", model, {"spec": spec, "dataset": "toy", "phase": "pruned"})
    loaded, meta = load_network(tmp_path / "m.pt")
    x = torch.randn(4, 6)
    assert torch.equal(loaded(x), model.eval()(x))
    assert meta["network_format"] == "nnstructure checkpoint" and meta["dataset"] == "toy" and meta["phase"] == "pruned"


def test_scripted_sequential_is_rebuilt_exactly(tmp_path):
    model = cnn()
    torch.jit.script(model).save(str(tmp_path / "s.pt"))
    loaded, meta = load_network(tmp_path / "s.pt")
    assert type(loaded) is nn.Sequential and meta["network_format"] == "torchscript" and meta["rebuilt_as_sequential"]
    assert loaded[0].stride == (2, 2) and loaded[0].padding == (1, 1) and loaded[3].kernel_size == 2
    x = torch.randn(2, 1, 16, 16)
    assert torch.allclose(loaded(x), model(x))
    assert same_graph(loaded, model)


def test_traced_module_evaluates_and_its_weights_give_the_graph(tmp_path):
    model = cnn()
    x = torch.randn(2, 1, 16, 16)
    torch.jit.trace(model, x).save(str(tmp_path / "t.pt"))
    loaded, meta = load_network(tmp_path / "t.pt")
    assert isinstance(loaded, torch.jit.ScriptModule) and not meta["rebuilt_as_sequential"]
    assert torch.allclose(loaded(x), model(x))
    rebuilt, meta = load_sequential(tmp_path / "t.pt")
    assert "assumed" in meta and same_graph(rebuilt, model)  # default BN eps 1e-5 is what cnn() uses


def test_mlp_state_dict_is_rebuilt_from_tensor_shapes(tmp_path):
    model = mlp()
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    loaded, meta = load_network(tmp_path / "sd.pt")
    assert meta["network_format"] == "state dict" and "stride 1" in meta["assumed"]
    assert [type(m).__name__ for m in loaded] == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    x = torch.randn(7, 6)
    assert torch.equal(loaded(x), model(x))  # exact for an MLP
    assert same_graph(loaded, model)  # the leading Flatten adds no node


def test_cnn_state_dict_gives_the_exact_weight_graph(tmp_path):
    model = cnn()
    torch.save({"state_dict": model.state_dict()}, tmp_path / "wrapped.pt")  # Lightning-style wrapper
    loaded, _ = load_network(tmp_path / "wrapped.pt")
    assert [type(m).__name__ for m in loaded] == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "ReLU", "Flatten", "Linear"]
    for norm in ("l1", "l2-matrix"):
        assert same_graph(loaded, model, norm)


@pytest.mark.parametrize(
    "state, problem",
    [
        ({"emb.weight": torch.zeros(3, 4, 5)}, "weight shape 3x4x5"),
        ({"a.weight": torch.zeros(4, 6), "b.weight": torch.zeros(3, 5)}, "takes 5 inputs but the layer before it has 4"),
        ({"a.weight": torch.zeros(4, 6), "a.scale": torch.zeros(4)}, "entries ['scale', 'weight']"),
        ({"c.weight": torch.zeros(4, 1, 3, 3), "fc.weight": torch.zeros(2, 10)}, "not a multiple of the 4 channels"),
    ],
)
def test_state_dicts_that_are_not_a_plain_stack_are_refused_in_one_line(state, problem):
    with pytest.raises(NetworkFormatError) as info:
        state_dict_sequential(state, "net.pt")
    message = str(info.value)
    assert problem in message and "\n" not in message


def test_pickled_module_needs_the_explicit_flag(tmp_path):
    model = mlp()
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(NetworkFormatError) as info:
        load_network(tmp_path / "whole.pt")
    message = str(info.value)
    assert "--allow-pickle" in message and "runs code" in message
    assert "\n" not in message and "\x1b" not in message  # none of torch's advice or colour codes
    loaded, meta = load_network(tmp_path / "whole.pt", allow_pickle=True)
    assert meta["network_format"] == "pickled module" and meta["class"] == "torch.nn.modules.container.Sequential"
    x = torch.randn(3, 6)
    assert torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("content", [b"hello, not a network", b"PK\x03\x04truncated zip", b""])
def test_any_other_file_gets_one_line_listing_the_formats(tmp_path, content):
    path = tmp_path / "thing.pt"
    path.write_bytes(content)
    with pytest.raises(NetworkFormatError) as info:
        load_network(path)
    assert str(info.value) == f"{path} is not a network file this tool reads; accepted: {ACCEPTED_FORMATS}"


def test_other_torch_objects_and_missing_files(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(NetworkFormatError, match="accepted: an nnstructure checkpoint"):
        load_network(tmp_path / "list.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_network(tmp_path / "nope.pt")


# --- the CLI ------------------------------------------------------------------------------------


def test_graph_and_clusterability_accept_a_state_dict_and_refuse_pickles(tmp_path, capsys):
    from nnstructure.cli import main
    from nnstructure.graph import load_graph

    model = mlp()
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    assert main(["graph", str(tmp_path / "sd.pt"), "--out", str(tmp_path / "g.npz")]) == 0
    assert np.allclose(load_graph(tmp_path / "g.npz").adjacency.toarray(), weight_graph(model).adjacency.toarray())
    assert main(["clusterability", str(tmp_path / "sd.pt"), "--k", "2", "--shuffles", "2", "--n-init", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n_nodes"] == 18

    torch.save(model, tmp_path / "whole.pt")
    assert main(["graph", str(tmp_path / "whole.pt"), "--out", str(tmp_path / "w.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-pickle" in err
    assert main(["graph", str(tmp_path / "whole.pt"), "--allow-pickle", "--out", str(tmp_path / "w.npz")]) == 0
    capsys.readouterr()
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["graph", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "x.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"accepted: {ACCEPTED_FORMATS}" in err


def image_data(tmp_path, side, name="toy", n=60):
    """A small 3-class dataset of ``side`` x ``side`` images, saved as our dataset artifact; its path."""
    from nnstructure.data.dataset import Dataset, save_dataset

    rng = np.random.default_rng(0)
    x = rng.random((n, side, side)).astype(np.float32)
    y = rng.integers(0, 3, n).astype(np.int64)
    path = tmp_path / f"{name}-{side}.npz"
    save_dataset(Dataset(name, x[:40], y[:40], x[40:], y[40:], task="classification", n_classes=3), path)
    return path


def test_an_image_mlp_saved_as_a_state_dict_is_evaluated_and_specialised(tmp_path, capsys):
    from nnstructure.cli import main

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    loaded, _ = load_network(tmp_path / "sd.pt")
    x = torch.rand(5, 6, 6)
    assert torch.equal(loaded(x), model(x))  # images in, as the network that was saved takes them
    data = image_data(tmp_path, 6)
    assert main(["evaluate", str(tmp_path / "sd.pt"), "--dataset", str(data), "--device", "cpu"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["test_accuracy"] <= 1
    assert main(["specialization", str(tmp_path / "sd.pt"), "--dataset", str(data), "--proxies", "lesion", "--k", "4",
                 "--n-random", "2", "--n-init", "2", "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["metrics"]
    # Inputs of another shape: one line saying which shape the network expects and which it got.
    assert main(["specialization", str(tmp_path / "sd.pt"), "--dataset", str(image_data(tmp_path, 5)),
                 "--proxies", "lesion", "--k", "4", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expects 36 values each" in err and "shape [5, 5]" in err, err
    assert main(["evaluate", str(tmp_path / "sd.pt"), "--dataset", str(image_data(tmp_path, 5)), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expects 36 values each" in err and "shape [5, 5]" in err, err


def test_check_network_inputs_names_the_expected_and_the_given_shape():
    from nnstructure.network_io import NetworkInputError, check_network_inputs

    model = cnn().train()
    running = model[1].running_mean.clone()
    check_network_inputs(model, np.zeros((3, 1, 16, 16), np.float32), "dataset 'toy'")
    assert model.training and torch.equal(model[1].running_mean, running)  # its mode and statistics are kept
    with pytest.raises(NetworkInputError) as info:
        check_network_inputs(model, np.zeros((3, 3, 16, 16), np.float32), "dataset 'rgb'")
    message = str(info.value)
    assert "dataset 'rgb'" in message and "shape [3, 16, 16]" in message and "expects shape [1, height, width]" in message
    with pytest.raises(NetworkInputError, match=r"inputs of dataset 'wide', of shape \[7\] each: it expects shape \[6\]"):
        check_network_inputs(mlp(), torch.zeros(2, 7), "dataset 'wide'")


def test_evaluate_a_torchscript_file_on_a_given_dataset(tmp_path, capsys):
    from nnstructure.cli import main
    from nnstructure.data.dataset import Dataset, save_dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40).astype(np.int64)
    save_dataset(Dataset("toy", x[:30], y[:30], x[30:], y[30:], task="classification", n_classes=3), tmp_path / "toy.npz")
    torch.jit.script(mlp()).save(str(tmp_path / "s.pt"))
    assert main(["evaluate", str(tmp_path / "s.pt")]) == 1  # no dataset recorded in a TorchScript file
    err = capsys.readouterr().err
    assert "records no dataset" in err and "--dataset" in err
    assert main(["evaluate", str(tmp_path / "s.pt"), "--dataset", str(tmp_path / "toy.npz"), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["network_format"] == "torchscript" and result["dataset"] == "toy"
    assert 0 <= result["test_accuracy"] <= 1


# --- One loader, one input check, every command -----------------------------------------------

MISMATCH_COMMANDS = {
    # command: (its arguments after the network file, the input shape it gives, in the message)
    "evaluate": (["--dataset", "{images}", "--device", "cpu"], "shape [5, 5]"),
    "specialization": (["--dataset", "{images}", "--proxies", "lesion", "--k", "2", "--device", "cpu"], "shape [5, 5]"),
    "partition": (["--partitioning", "act-network", "--dataset", "{images}", "--k", "2", "--out", "{tmp}/p.parquet"],
                  "shape [5, 5]"),
    "probe": (["--dots-seed", "0", "--dots-n", "4", "--layer", "0", "--target", "mean_distance", "--quiet"],
              "shape [3, 64, 64]"),
    "probe-features": (["--dots-seed", "0", "--dots-n", "4", "--out", "{tmp}/feats", "--quiet"], "shape [3, 64, 64]"),
    "noise-test": (["--n", "2"], "shape [6, 64, 64]"),
    "predict-transitions": (["{tmp}/no-edits-needed"], "shape [6, 64, 64]"),
    "visualize-reward": (["--mode", "denovo", "--steps", "1", "--out", "{tmp}/vis"], "shape [6, 64, 64]"),
}


@pytest.mark.parametrize("fmt", ["state dict", "torchscript", "pickle"])
@pytest.mark.parametrize("command", sorted(MISMATCH_COMMANDS))
def test_every_command_names_the_shape_a_mismatched_network_expects_in_one_line(command, fmt, tmp_path, capsys):
    """Every command that takes a network reads every format through the one loader and runs it once on its
    inputs: a network of other inputs is refused in one line naming both shapes, never with a raw shape error."""
    from nnstructure.cli import main

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 12), nn.ReLU(), nn.Linear(12, 3)).eval()
    path, extra = tmp_path / "net.pt", []
    if fmt == "state dict":
        torch.save(model.state_dict(), path)
    elif fmt == "torchscript":
        torch.jit.script(model).save(str(path))
    else:
        torch.save(model, path)
        extra = ["--allow-pickle"]
    args, given = MISMATCH_COMMANDS[command]
    args = [a.format(images=image_data(tmp_path, 5), tmp=tmp_path) for a in args]
    assert main([command, str(path), *extra, *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{given} each: it expects 36 values each" in err, err


def test_a_reward_net_state_dict_is_rebuilt_as_the_reward_net_with_its_spec(tmp_path):
    """Our reward net's layout (3x3 'same' convolutions, global average pool, linear head) cannot be read as a
    plain stack; its state dict is recognised and rebuilt exactly, spec included (probes draw baselines from it)."""
    from nnstructure.models import reward_net_spec

    spec = reward_net_spec([6, 16, 16], width_multiplier=1 / 32)
    net = build_model(spec, seed=3).eval()
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    loaded, meta = load_network(tmp_path / "sd.pt")
    x = torch.rand(2, 6, 20, 24)
    assert torch.equal(loaded(x), net(x))
    assert meta["network_format"] == "state dict" and "padding 1" in meta["assumed"]
    assert meta["spec"]["arch"] == "reward" and meta["spec"]["channels"] == [3, 8, 12, 12, 8]
    assert meta["spec"]["n_outputs"] == 15 and meta["spec"]["input_shape"][0] == 6
    # A plain conv stack whose head takes flattened maps is still a plain stack.
    plain = nn.Sequential(nn.Conv2d(6, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 15))
    torch.save(plain.state_dict(), tmp_path / "plain.pt")
    loaded, meta = load_network(tmp_path / "plain.pt")
    assert "spec" not in meta and torch.equal(loaded(x[:, :, :16, :16]), plain.eval()(x[:, :, :16, :16]))
    # TorchScript of the reward net is rebuilt as the eager nn.Sequential (its pooling layer included).
    torch.jit.script(net).save(str(tmp_path / "s.pt"))
    loaded, meta = load_network(tmp_path / "s.pt")
    assert isinstance(loaded, nn.Sequential) and meta["rebuilt_as_sequential"] and torch.equal(loaded(x), net(x))
