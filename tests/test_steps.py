"""Workflow steps are library functions: the scripts call them directly, and the commands are front ends to them.

Each step the workflow runs is a function ``(input paths, output paths, settings)``
in its chapter's ``steps`` module. A workflow script passes its rule's params as the
settings; the ``nnstructure`` command parses its options into the same settings.
These tests check that no script builds a command line any more, and that a step
called as the workflow calls it writes byte for byte what its command writes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from nnstructure.checkpoint import save_checkpoint
from nnstructure.cli import main
from nnstructure.models import build_model, reward_net_spec
from test_reward_transitions_data import write_transition_dataset

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "workflow_scripts").glob("*.py"))
#: The scripts that called the command line in-process before, and the step module each now imports from.
STEP_SCRIPTS = {
    "partition": "nnstructure.specialization.steps", "subcluster_proxy": "nnstructure.specialization.steps",
    "specialization_stats": "nnstructure.specialization.steps", "transition_shard": "nnstructure.reward.steps",
    "transitions_merge": "nnstructure.reward.steps", "edit_transitions": "nnstructure.reward.steps",
    "reward_test": "nnstructure.reward.steps", "ch5_network": "nnstructure.reward.steps",
    "probe_features": "nnstructure.probe.steps", "probe_fit": "nnstructure.probe.steps",
}


def same_files(a: Path, b: Path) -> None:
    """Two files, or two folders holding the same files, with the same bytes."""
    if a.is_file():
        assert a.read_bytes() == b.read_bytes(), f"{a} and {b} differ"
        return
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names and names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"


# ---------------------------------------------------------------------------------------------
# The scripts


def test_no_workflow_script_builds_a_command_line():
    assert SCRIPTS
    for script in SCRIPTS:
        text = script.read_text()
        assert not re.search(r"run_logged|argv", text), f"{script.name} builds command-line arguments"
        assert "nnstructure.cli" not in text, f"{script.name} goes through the command line"


def test_the_former_command_line_scripts_call_their_steps_inside_the_log():
    for name, module in STEP_SCRIPTS.items():
        tree = ast.parse((ROOT / "workflow_scripts" / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert module in imported, f"{name}.py does not import {module}"
        assert any(isinstance(node, ast.With) and "log_to" in ast.unparse(node.items[0]) for node in tree.body), name


def test_building_the_parser_still_does_not_import_the_steps_heavy_modules():
    import subprocess
    import sys

    code = ("import sys; import nnstructure.specialization.steps, nnstructure.reward.steps, nnstructure.probe.steps; "
            "from nnstructure.cli import build_parser; build_parser(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


# ---------------------------------------------------------------------------------------------
# Settings: the steps' defaults are the commands' defaults


def _options(command: str) -> dict:
    import argparse

    from nnstructure.cli import build_parser

    sub = next(a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.default for a in sub.choices[command]._actions}


@pytest.mark.parametrize("command, defaults, renamed", [
    ("partition", "nnstructure.specialization.steps:PARTITION_DEFAULTS", {"method_settings": None}),
    ("subcluster-proxy", "nnstructure.specialization.steps:PROXY_DEFAULTS", {"visualization": None}),
    ("specialization-stats", "nnstructure.specialization.steps:STATS_DEFAULTS", {}),
    ("transitions", "nnstructure.reward.steps:SHARD_DEFAULTS", {}),
    ("transitions-merge", "nnstructure.reward.steps:MERGE_DEFAULTS", {"shards": "expect_shards"}),
    ("edit-transitions", "nnstructure.reward.steps:EDIT_DEFAULTS", {"shifts": None}),
    ("noise-test", "nnstructure.reward.steps:NOISE_DEFAULTS", {}),
    ("visualize-reward", "nnstructure.reward.steps:VISUALIZE_DEFAULTS", {"snapshots": None, "decorrelate": None}),
    ("probe-features", "nnstructure.probe.steps:FEATURES_DEFAULTS", {}),
    ("probe-fit", "nnstructure.probe.steps:FIT_DEFAULTS", {}),
])
def test_step_defaults_are_the_command_defaults(command, defaults, renamed):
    import importlib

    module, name = defaults.split(":")
    table = getattr(importlib.import_module(module), name)
    options = _options(command)
    for key, value in table.items():
        option = renamed.get(key, key)
        if option is None:  # parsed from text by the command (checked below)
            continue
        assert option in options and options[option] == value, (command, key)
    if command == "edit-transitions":
        assert tuple(int(v) for v in options["shifts"].split(",")) == table["shifts"]
    if command == "visualize-reward":
        assert tuple(int(v) for v in options["snapshots"].split(",")) == table["snapshots"]
        assert options["no_decorrelate"] is False and table["decorrelate"] is True


def test_settings_are_checked_and_typed_like_the_command_line():
    from nnstructure.reward.settings import REWARD_NET_SETTINGS
    from nnstructure.step_settings import step_settings, table_settings

    with pytest.raises(ValueError, match="partition: unknown setting kk; it takes partitioning, k"):
        step_settings("partition", {"partitioning": "weight-network", "kk": 3}, {"k": 16}, required=("partitioning",))
    with pytest.raises(ValueError, match="partition: setting partitioning required"):
        step_settings("partition", {"k": 3}, {"k": 16}, required=("partitioning",))
    assert step_settings("s", {"b": None, "a": 1}, {"a": 0, "b": 2}) == {"a": 1, "b": 2}
    # As `--width-multiplier 1 --epochs 2 --discard-weighting` would: floats for numbers, in the table's order.
    typed = table_settings("reward_net", {"width_multiplier": 1, "epochs": "2"}, REWARD_NET_SETTINGS)
    assert list(typed) == [k for k in REWARD_NET_SETTINGS if k in typed] and typed["epochs"] == 2
    assert type(typed["width_multiplier"]) is float and typed["discard_weighting"] is True
    with pytest.raises(ValueError, match="unknown setting"):
        table_settings("reward_net", {"epochs": 1, "lr_sweep": 2}, REWARD_NET_SETTINGS)
    # A list setting: its items typed (as `--channels 12,8,12,12,8`); unset (null default), it is left out.
    assert "channels" not in typed
    assert table_settings("reward_net", {"epochs": 1, "channels": ["12", 8]}, REWARD_NET_SETTINGS)["channels"] == [12, 8]
    with pytest.raises(ValueError, match="setting channels must be a list"):
        table_settings("reward_net", {"epochs": 1, "channels": "12,8"}, REWARD_NET_SETTINGS)


# ---------------------------------------------------------------------------------------------
# A step and its command write the same bytes


def _bars(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.integers(0, 60, size=(n, 1, 6, 6))
    for i, c in enumerate(y):
        x[i, 0, 1 + c, 1:5] += 180
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """An untrained MLP on 6x6 'bars' images, its checkpoint (recording its dataset) and dataset artifact."""
    from nnstructure.data import Dataset, save_dataset

    root = tmp_path_factory.mktemp("steps-ch4")
    save_dataset(Dataset("bars", *_bars(160, 0), *_bars(80, 1), n_classes=4), root / "bars.npz")
    spec = {"arch": "mlp", "input_shape": [1, 6, 6], "n_outputs": 4, "widths": [10, 10]}
    save_checkpoint(root / "mlp.pt", build_model(spec, seed=0), {"spec": spec, "dataset": "bars", "seed": 0})
    return root


def test_chapter4_steps_write_what_their_commands_write(mlp, tmp_path):
    from nnstructure.specialization.steps import partition, specialization_stats, subcluster_proxy

    ckpt, data = str(mlp / "mlp.pt"), str(mlp / "bars.npz")
    step, cli = tmp_path / "step", tmp_path / "cli"
    step.mkdir(), cli.mkdir()
    # As the workflow's params give them (workflow.specialization.partition_params, proxy_params, specialization_stats_params).
    partition(ckpt, data, step / "net.parquet", {"partitioning": "act-network", "k": 3, "n_init": 2, "seed": 5,
                                                 "validation_size": 64}, device="cpu")
    partition(ckpt, data, step / "layer.parquet", {"partitioning": "act-layer", "k": 3, "n_init": 2, "seed": 5,
                                                   "validation_size": 64, "layer_scope": "adjacent"},
              network_labels=step / "net.parquet", device="cpu")
    proxy = {"n_random": 2, "random_pool": "all", "seed": 7, "condition": "e:none:unpruned", "replicate": "0"}
    subcluster_proxy(ckpt, step / "layer.parquet", data, step / "lesion.parquet", {"proxy": "lesion", **proxy}, device="cpu")
    subcluster_proxy(ckpt, step / "layer.parquet", data, step / "vis.parquet",
                     {"proxy": "visualization", **proxy, "visualization": {"steps": 2, "lr": 0.1}},
                     images=step / "images.parquet", device="cpu")
    specialization_stats([step / "lesion.parquet", step / "vis.parquet"], step / "stats.parquet",
                         {"ties": "strict", "alpha": 0.05, "family_class_range": "raw"},
                         per_network=step / "per_network.parquet", percentiles=step / "pct.parquet")

    common = ["--n-init", "2", "--seed", "5", "--validation-size", "64", "--dataset", data, "--device", "cpu"]
    assert main(["partition", ckpt, "--partitioning", "act-network", "--k", "3", *common, "--out", str(cli / "net.parquet")]) == 0
    assert main(["partition", ckpt, "--partitioning", "act-layer", "--k", "3", *common, "--layer-scope", "adjacent",
                 "--network-labels", str(cli / "net.parquet"), "--out", str(cli / "layer.parquet")]) == 0
    proxy_args = ["--n-random", "2", "--random-pool", "all", "--seed", "7", "--condition", "e:none:unpruned",
                  "--replicate", "0", "--dataset", data, "--device", "cpu"]
    assert main(["subcluster-proxy", ckpt, "--labels", str(cli / "layer.parquet"), "--proxy", "lesion", *proxy_args,
                 "--out", str(cli / "lesion.parquet")]) == 0
    assert main(["subcluster-proxy", ckpt, "--labels", str(cli / "layer.parquet"), "--proxy", "visualization", *proxy_args,
                 "--vis-steps", "2", "--vis-lr", "0.1", "--images", str(cli / "images.parquet"),
                 "--out", str(cli / "vis.parquet")]) == 0
    assert main(["specialization-stats", str(cli / "lesion.parquet"), str(cli / "vis.parquet"), "--ties", "strict",
                 "--alpha", "0.05", "--family-class-range", "raw", "--per-network", str(cli / "per_network.parquet"),
                 "--percentiles", str(cli / "pct.parquet"), "--out", str(cli / "stats.parquet")]) == 0
    for name in ("net", "layer", "lesion", "vis", "images", "stats", "per_network", "pct"):
        same_files(step / f"{name}.parquet", cli / f"{name}.parquet")


@pytest.fixture(scope="module")
def reward_setup(tmp_path_factory):
    """A tiny transition dataset and a tiny reward net (6-channel pairs of 16x16 frames)."""
    root = tmp_path_factory.mktemp("steps-ch5")
    dataset = write_transition_dataset(root / "ds", kept_filter=True)
    spec = reward_net_spec([6, 16, 16], width_multiplier=1 / 32)
    save_checkpoint(root / "net.pt", build_model(spec, seed=1), {"spec": spec, "game": "coinrun", "epochs_trained": 1})
    return root, dataset


def test_noise_test_step_writes_what_noise_test_writes(reward_setup, tmp_path, capsys):
    from nnstructure.reward.steps import noise_test

    root, _ = reward_setup
    noise_test(root / "net.pt", tmp_path / "step.parquet", {"n": 4, "clip": True, "seed": 0}, label="coin-a", device="cpu")
    step_out = capsys.readouterr().out
    assert main(["noise-test", str(root / "net.pt"), "--n", "4", "--clip", "--seed", "0", "--label", "coin-a",
                 "--out", str(tmp_path / "cli.parquet"), "--device", "cpu"]) == 0
    assert capsys.readouterr().out == step_out and "coin-a" in step_out
    same_files(tmp_path / "step.parquet", tmp_path / "cli.parquet")


def test_probe_steps_write_what_their_commands_write(reward_setup, tmp_path, capsys):
    from nnstructure.probe.steps import probe_features, probe_fit

    root, dataset = reward_setup
    # As workflow.reward.probe_features_params / probe_fit_params give them (no probes.epochs: the thesis's).
    probe_features(root / "net.pt", tmp_path / "step-feats", {"layers": [1, 2, 3, 4], "random_init": 11},
                   dataset=str(dataset), network="coin-a", device="cpu", progress=False)
    probe_fit(tmp_path / "step-feats", tmp_path / "step.parquet",
              {"layer": 2, "target": "distance", "filtered": False, "seed": 3, "thesis_network": "coinrun-15"})
    step_out = capsys.readouterr().out
    assert main(["probe-features", str(root / "net.pt"), "--layers", "1,2,3,4", "--network", "coin-a",
                 "--out", str(tmp_path / "cli-feats"), "--device", "cpu", "--quiet", "--dataset", str(dataset),
                 "--random-init", "11"]) == 0
    assert main(["probe-fit", str(tmp_path / "cli-feats"), "--layer", "2", "--target", "distance", "--seed", "3",
                 "--out", str(tmp_path / "cli.parquet"), "--thesis-network", "coinrun-15"]) == 0
    cli_out = capsys.readouterr().out
    assert cli_out.replace("cli-feats", "step-feats") == step_out
    same_files(tmp_path / "step-feats", tmp_path / "cli-feats")
    same_files(tmp_path / "step.parquet", tmp_path / "cli.parquet")


def test_probe_features_on_a_seeded_subset_of_the_transitions(reward_setup, tmp_path):
    from nnstructure.probe.features import load_feature_cache
    from nnstructure.probe.sources import transition_subset
    from nnstructure.probe.steps import probe_features
    from nnstructure.reward.transitions import TransitionDataset

    root, dataset = reward_setup
    data = TransitionDataset(dataset)
    kept = data.n()
    assert transition_subset(data, None) is None
    mask = transition_subset(data, 7)
    assert mask.sum() == 7 and not (mask & ~data.mask()).any()  # only kept transitions
    assert (transition_subset(data, 7) == mask).all() and transition_subset(data, kept + 5).sum() == kept
    settings = {"layers": [2], "transitions_n": 7}
    probe_features(root / "net.pt", tmp_path / "sub", settings, dataset=str(dataset), network="coin-a", device="cpu",
                   progress=False)
    probe_features(root / "net.pt", tmp_path / "all", {"layers": [2]}, dataset=str(dataset), network="coin-a",
                   device="cpu", progress=False)
    sub, full = load_feature_cache(tmp_path / "sub"), load_feature_cache(tmp_path / "all")
    assert len(sub.rows) == 7 and len(full.rows) == kept and sub.metadata["transitions_n"] == 7
    assert sorted(sub.rows["row"]) == sorted(np.flatnonzero(mask))
    # the subset's features are the full pass's features of the same transitions
    at = {int(r): i for i, r in enumerate(full.rows["row"])}
    np.testing.assert_allclose(sub.layer(2), full.layer(2)[[at[int(r)] for r in sub.rows["row"]]], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least 1"):
        transition_subset(data, 0)
