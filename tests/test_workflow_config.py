"""Config validation, the generated schema, and the network/analysis logic behind the Snakefile."""

import argparse
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from nnstructure import workflow as wc
from nnstructure.config_check import ConfigError, check_config, fill_defaults, load_schema
from nnstructure.train.config import (
    ModelSettings,
    TrainConfig,
    add_setting_options,
    applicable_settings,
    setting_fields,
    settings_from_options,
    split_settings,
)
from nnstructure.workflow.schema import schema_yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def small_config(extra_networks=None, **extra):
    """A small valid config: two trained MLP/CNN sets on LINES (plus ``extra_networks``), updated with ``extra``."""
    cfg = {
        "networks": {
            "mlp-lines": {
                "arch": "mlp",
                "dataset": "lines",
                "seeds": [0, 1],
                "conditions": {"none": {}, "dropout": {"dropout": 0.5}},
                "train": {"epochs": 2, "prune_epochs": 1},
            },
            "cnn-lines": {"arch": "cnn", "dataset": "lines", "seeds": [0], "conditions": {"none": {}},
                          "train": {"prune_epochs": 0}},
        },
        "clusterability": {"networks": {"mlp-lines": {"table": "A.1"}, "cnn-lines": {}}},
    }
    cfg["networks"].update(extra_networks or {})
    cfg.update(extra)
    check_config(cfg, SCHEMA)
    validate(cfg, str(SCHEMA))
    return cfg


def test_committed_schema_is_generated_from_the_definitions():
    assert SCHEMA.read_text() == schema_yaml(), (
        "config/schema.yaml is out of date: run `python -m nnstructure.workflow.schema config/schema.yaml`"
    )


def test_training_settings_are_defined_once_and_agree_everywhere():
    """Schema, CLI options, TrainConfig/ModelSettings and the workflow's params list the same settings."""
    names = list(setting_fields())
    assert names == [f for f in TrainConfig.__dataclass_fields__] + [f for f in ModelSettings.__dataclass_fields__]
    schema = yaml.safe_load(SCHEMA.read_text())
    assert list(schema["properties"]["train"]["properties"]) == names
    assert list(schema["$defs"]["train_settings"]["properties"]) == names
    assert list(schema["$defs"]["condition"]["properties"]) == ["reg", "init", *names]
    parser = argparse.ArgumentParser()
    add_setting_options(parser)
    args = parser.parse_args([])
    settings = settings_from_options(args)
    assert list(settings) == names
    # The CLI's defaults are the dataclasses' defaults, so `nnstructure train` reproduces a workflow network.
    train, model = split_settings(settings)
    assert train == TrainConfig() and model == ModelSettings()
    args = parser.parse_args(["--prune-frequency", "3", "--prune-power", "2", "--l2-first-layer-l1", "--no-shuffle",
                              "--widths", "8,8", "--spectral-reduction", "mean"])
    train, model = split_settings(settings_from_options(args))
    assert (train.prune_frequency, train.prune_power, train.l2_first_layer_l1, train.shuffle) == (3, 2.0, True, False)
    assert model.widths == [8, 8] and train.spectral_reduction == "mean"
    # The schema's defaults are the dataclasses' defaults.
    defaults = {k: v.get("default") for k, v in schema["properties"]["train"]["properties"].items()}
    assert defaults["prune_frequency"] == TrainConfig().prune_frequency and defaults["lr"] == TrainConfig().lr


def test_dataset_names_and_shuffle_kinds_come_from_the_library():
    from nnstructure.cluster.shuffle import SHUFFLE_KINDS
    from nnstructure.data.registry import DATASETS

    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["$defs"]["dataset_name"]["enum"] == list(DATASETS)
    assert schema["$defs"]["shuffle_kind"]["enum"] == list(SHUFFLE_KINDS)



def test_wildcard_constraints_come_from_the_library():
    import re

    from nnstructure.paths import PHASE_FILES
    from nnstructure.specialization.choices import PARTITIONINGS

    phases = re.compile(f"(?:{wc.one_of(PHASE_FILES)})")
    assert all(phases.fullmatch(p) for p in PHASE_FILES) and not phases.fullmatch("prune")
    assert re.fullmatch(wc.one_of(PARTITIONINGS), "act-layer") and not re.fullmatch(wc.one_of(PARTITIONINGS), "act-x")
    snakefile = (ROOT / "Snakefile").read_text()
    assert "wc.one_of(PHASE_FILES)" in snakefile and "wc.one_of(PARTITIONINGS)" in snakefile
    assert "wc.one_of((*SHUFFLE_KINDS," in snakefile


def test_entries_override_the_settings_their_schema_allows_by_one_rule():
    # ENTRY_SETTINGS is what each analysis's entry schema allows besides selecting networks
    defs = yaml.safe_load(SCHEMA.read_text())["$defs"]
    selecting = set(defs["analysis_entry"]["properties"])
    for analysis, keys in wc.ENTRY_SETTINGS.items():
        assert set(defs[f"{analysis}_entry"]["properties"]) - selecting == set(keys), analysis
    cfg = small_config(
        specialization={"k": 8, "visualization": {"method": "original", "steps": 5},
                        "networks": {"mlp-lines": {"k": [4, 6], "visualization": {"steps": 9}, "n_random": 3}}},
        reward={"noise_n": 50, "networks": {}},
        probes={"layers": [2], "networks": {}},
    )
    s = wc.entry_settings(cfg, "specialization", "mlp-lines")
    assert s["k"] == [4, 6] and s["n_random"] == 3 and s["alpha"] == 0.05  # alpha is section-wide
    assert s["visualization"] == {"method": "original", "steps": 9}  # a mapping merged key by key
    assert wc.specialization_settings(cfg, "mlp-lines")["k"] == [4, 6]
    c = wc.clustering_settings(cfg, "mlp-lines")
    assert c["k"] == [12] and c["shuffle"] == ["layer"] and c == {**wc.entry_settings(cfg, "clusterability", "mlp-lines"),
                                                                  "k": [12], "shuffle": ["layer"]}
    cfg["clusterability"]["networks"]["cnn-lines"] = {"k": [3, 5], "shuffle": ["layer", "nonzero"], "table": "x"}
    c = wc.clustering_settings(cfg, "cnn-lines")
    assert c["k"] == [3, 5] and c["shuffle"] == ["layer", "nonzero"] and "table" not in c

@pytest.mark.parametrize(
    "bad, key, allowed",
    [
        ({"clusterability": {"kk": 3}}, "'kk'", "n_shuffles"),
        ({"clusterability": {"shuffle": "random"}}, "clusterability.shuffle", "layer, nonzero"),
        ({"train": {"epochs": -1}}, "train.epochs", ">= 0"),
        ({"train": {"dropout": 1.5}}, "train.dropout", "< 1"),
        ({"device": "gpu"}, "device", "auto|cpu"),
        ({"clusterability": {"k": "twelve"}}, "clusterability.k", "integer"),
        ({"typo_key": 1}, "'typo_key'", "networks"),
        ({"networks": {"m": {"arch": "mlp", "seeds": [0]}}}, "networks.m", "dataset"),
    ],
)
def test_invalid_config_names_key_and_what_is_allowed(bad, key, allowed):
    with pytest.raises(ConfigError) as info:
        check_config(bad, SCHEMA)
    assert key in str(info.value)
    assert allowed in str(info.value)


def test_names_that_refer_to_no_section_are_named_before_the_dag(tmp_path):
    base = {"results_dir": str(tmp_path / "results"),
            "networks": {"coin": {"kind": "reward", "transitions": "coinrun", "seeds": [0]},
                         "m": {"arch": "mlp", "dataset": "mnist", "seeds": [0]}},
            "transitions": {"coinrun": {"game": "coinrun"}}}
    check_config(base, SCHEMA)  # every name resolves
    wrong = {**base, "networks": {**base["networks"], "coin": {"kind": "reward", "transitions": "coinrn", "seeds": [0]}}}
    with pytest.raises(ConfigError, match=r"'networks.coin.transitions': 'coinrn' is not a transition dataset .*coinrun"):
        check_config(wrong, SCHEMA)
    entry = {**base, "clusterability": {"networks": {"mm": {}, "alias": {"set": "nope"}}}}
    with pytest.raises(ConfigError) as info:
        check_config(entry, SCHEMA)
    message = str(info.value)
    assert "'clusterability.networks.mm': 'mm' is not a network set" in message
    assert "'clusterability.networks.alias.set': 'nope' is not a network set" in message


def test_a_results_dir_that_cannot_be_written_is_named_before_the_dag(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for folder in ("/proc/nope", str(blocker / "results")):
        with pytest.raises(ConfigError, match=r"'results_dir': .* cannot be created"):
            check_config({"results_dir": folder}, SCHEMA)
    check_config({"results_dir": str(tmp_path / "new" / "results")}, SCHEMA)
    assert (tmp_path / "new" / "results").is_dir()


def test_unknown_condition_setting_is_named():
    cfg = {"networks": {"e": {"arch": "mlp", "dataset": "mnist", "seeds": [0], "conditions": {"none": {"dropuot": 0.5}}}}}
    with pytest.raises(ConfigError, match=r"'dropuot' under 'networks.e.conditions.none'"):
        check_config(cfg, SCHEMA)


def test_shipped_presets_validate():
    presets = [ROOT / "config.yaml", *sorted(p for p in (ROOT / "config").glob("*.yaml") if p.name != "schema.yaml")]
    assert {p.name for p in presets} >= {"config.yaml", "paper.yaml", "mnist-a1.yaml", "ch5-cpu.yaml"}
    for path in presets:
        cfg = yaml.safe_load(path.read_text())
        check_config(cfg, SCHEMA)
        validate(cfg, str(SCHEMA))
        assert list(wc.analysis_cells(cfg, "clusterability")) or cfg.get("reward"), path


def test_ch5_cpu_preset_trains_learning_recipes_on_the_full_datasets():
    cfg = yaml.safe_load((ROOT / "config" / "ch5-cpu.yaml").read_text())
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    assert cfg["transitions"] == paper["transitions"]  # the thesis-size datasets
    coinrun = cfg["networks"]["coinrun-reward"]
    assert {c["thesis_network"] for c in coinrun["conditions"].values()} == {"coinrun-15", "coinrun-40"}
    # precision: the chapter-5 default, auto (bf16 on an AMX CPU, fp32 on an AVX2-only one)
    assert "precision" not in coinrun["train"] and coinrun["train"]["zero_reward_discard"] > 0
    assert {"heist-reward", "coinrun-adversarial", "dots"} <= set(cfg["networks"])


def test_adversarial_nets_take_init_and_clipping_without_touching_older_params():
    """init and grad_clip_norm are adversarial settings (ch5-cpu's adversarial net has the CoinRun nets' recipe);
    unset, they stay out of the params, so the adversarial nets of configs without them are not retrained."""
    from nnstructure.reward.adversarial import adversarial_settings

    cpu = yaml.safe_load((ROOT / "config" / "ch5-cpu.yaml").read_text())
    settings = wc.ch5_settings(cpu, wc.Network("coinrun-adversarial", "none", 0))
    assert settings["init"] == "glorot" and settings["grad_clip_norm"] == 1.0 and settings["lr_schedule"] == "cosine"
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    settings = wc.ch5_settings(default, wc.Network("coinrun-adversarial", "none", 0))
    assert "init" not in settings and "grad_clip_norm" not in settings
    assert adversarial_settings({k: v for k, v in settings.items() if k != "variant"})["init"] == "torch"  # the step's default
    assert adversarial_settings({"init": "glorot", "grad_clip_norm": 1.0})["grad_clip_norm"] == 1.0


def test_defaults_filled_and_settings_layered():
    cfg = small_config(train={"batch_size": 64})
    assert cfg["clusterability"]["k"] == 12 and cfg["clusterability"]["n_shuffles"] == 50
    s = wc.network_settings(cfg, wc.Network("mlp-lines", "dropout", 0))
    assert s["dropout"] == 0.5 and s["epochs"] == 2 and s["batch_size"] == 64 and s["lr"] == 0.001
    assert wc.network_settings(cfg, wc.Network("mlp-lines", "none", 0))["dropout"] == 0.0


def test_the_schema_is_parsed_once_and_its_defaults_are_copied_into_each_config(tmp_path):
    assert load_schema(SCHEMA) is load_schema(str(SCHEMA)) == yaml.safe_load(SCHEMA.read_text())
    first, second = fill_defaults({}, SCHEMA), fill_defaults({}, SCHEMA)
    assert first == second and first["clusterability"]["k"] == 12
    default_list = next(k for k, v in first.items() if isinstance(v, dict) and any(isinstance(x, list) for x in v.values()))
    key = next(k for k, v in first[default_list].items() if isinstance(v, list))
    first[default_list][key].append("changed")  # a config's default is its own, not the shared schema's
    assert "changed" not in second[default_list][key]
    assert "changed" not in fill_defaults({}, SCHEMA)[default_list][key]
    copy = tmp_path / "schema.yaml"
    copy.write_text(SCHEMA.read_text())
    assert load_schema(copy) == load_schema(SCHEMA)
    copy.write_text(yaml.safe_dump({"type": "object", "properties": {"k": {"type": "integer", "default": 3}}}))
    assert fill_defaults({}, copy) == {"k": 3}  # an edited schema file is read again


def test_cells_phases_and_targets():
    cfg = small_config()
    cells = list(wc.analysis_cells(cfg, "clusterability"))
    assert len(cells) == 2 * 2 * 2 + 1  # mlp: 2 conditions x 2 seeds x 2 phases; cnn: 1 network, no pruning
    assert wc.network_phases(cfg, "mlp-lines") == ["unpruned", "pruned"]
    assert wc.network_phases(cfg, "cnn-lines") == ["unpruned"]
    rows = wc.row_targets(cfg, "R")
    assert len(rows) == 9 and all(r.startswith("R/clusterability/rows/") for r in rows)
    assert "R/clusterability/rows/mlp-lines/dropout/seed1/pruned-k12-layer.parquet" in rows
    assert len(wc.shuffle_targets(cfg, "R")) == 9


def test_entries_select_subsets_of_a_set():
    cfg = small_config()
    cfg["clusterability"]["networks"] = {"topology": {"set": "mlp-lines", "seeds": [1], "conditions": ["none"],
                                                      "phases": ["pruned"], "shuffle": ["layer", "nonzero"]}}
    cells = list(wc.analysis_cells(cfg, "clusterability"))
    assert [(c.entry, c.network, c.phase) for c in cells] == [("topology", wc.Network("mlp-lines", "none", 1), "pruned")]
    assert len(wc.row_targets(cfg, "R")) == 2
    cfg["clusterability"]["networks"]["topology"]["seeds"] = [7]
    with pytest.raises(wc.WorkflowConfigError, match=r"seeds lists \[7\]"):
        list(wc.analysis_cells(cfg, "clusterability"))
    cfg["clusterability"]["networks"] = {"x": {"set": "nope"}}
    with pytest.raises(wc.WorkflowConfigError, match="not defined under 'networks'"):
        list(wc.analysis_cells(cfg, "clusterability"))


def test_params_separate_training_from_clustering():
    cfg = small_config()
    net = wc.Network("mlp-lines", "none", 0)
    before = wc.train_params(cfg, net)
    cfg["clusterability"]["k"] = 4
    cfg["clusterability"]["n_shuffles"] = 7
    cfg["device"] = "cuda"
    cfg["data_dir"] = "/elsewhere"
    assert wc.train_params(cfg, net) == before
    cell = wc.AnalysisCell("mlp-lines", net, "pruned")
    assert wc.shuffle_params(cfg, cell, 4, "layer")["n_shuffles"] == 7
    # Editing one condition leaves the other's params alone.
    other = wc.train_params(cfg, wc.Network("mlp-lines", "dropout", 0))
    cfg["networks"]["mlp-lines"]["conditions"]["none"]["l2"] = 1e-4
    assert wc.train_params(cfg, net) != before
    assert wc.train_params(cfg, wc.Network("mlp-lines", "dropout", 0)) == other


def test_graph_settings_reach_only_the_architectures_they_apply_to():
    cfg = small_config()
    mlp, cnn = wc.Network("mlp-lines", "none", 0), wc.Network("cnn-lines", "none", 0)
    assert wc.graph_params(cfg, "mlp-lines", mlp) == {}
    assert wc.graph_params(cfg, "cnn-lines", cnn) == {"kernel_norm": "l1", "fold_batchnorm": True}
    cfg["clusterability"]["kernel_norm"] = "l2"
    assert wc.graph_params(cfg, "mlp-lines", mlp) == {}
    assert wc.graph_params(cfg, "cnn-lines", cnn)["kernel_norm"] == "l2"


def test_training_params_hold_only_settings_that_change_the_network():
    # No pruning epochs: the pruning schedule cannot change the network.
    s = applicable_settings({"prune_epochs": 0, "initial_sparsity": 0.3}, "mlp")
    assert "initial_sparsity" not in s and "prune_frequency" not in s and s["widths"] == [256, 256, 256, 256]
    assert applicable_settings({"prune_epochs": 2, "initial_sparsity": 0.3}, "mlp")["initial_sparsity"] == 0.3
    # Clusterable-init and spectral details only with those switched on; widths only for MLPs.
    s = applicable_settings({"ci_beta": 0.5, "spectral_reduction": "mean"}, "cnn")
    assert "ci_beta" not in s and "spectral_reduction" not in s and "widths" not in s
    assert applicable_settings({"spectral_reg": 0.1, "spectral_reduction": "mean"}, "mlp")["spectral_reduction"] == "mean"
    # An untrained network depends on model and initialisation settings only.
    assert set(applicable_settings({"batch_size": 7, "epochs": 3}, "mlp", trained=False)) == {"clusterable_init", "dropout", "widths"}


def test_random_init_networks_ignore_training_settings():
    cfg = small_config()
    cfg["networks"]["init"] = {"kind": "random_init", "arch": "mlp", "dataset": "lines", "seeds": [0, 1, 2]}
    cfg["clusterability"]["networks"]["init"] = {"n_shuffles": 0}
    validate(cfg, str(SCHEMA))
    assert wc.network_phases(cfg, "init") == ["init"]
    net = wc.Network("init", "none", 0)
    before = wc.init_params(cfg, net)
    cfg["train"]["batch_size"] = 7
    cfg["train"]["epochs"] = 99
    assert wc.init_params(cfg, net) == before
    rows = [r for r in wc.row_targets(cfg, "R") if "/init/" in r]
    assert rows == [f"R/clusterability/rows/init/none/seed{s}/init-k12-none.parquet" for s in range(3)]
    labels = wc.row_labels(cfg, wc.AnalysisCell("init", net, "init"))
    assert labels["kind"] == "random_init" and labels["pruned"] is False
    cfg["networks"]["init"]["conditions"] = {"none": {"epochs": 3}}
    with pytest.raises(wc.WorkflowConfigError, match="random_init"):
        wc.init_params(cfg, net)


def test_sets_trained_on_cifar10_without_a_source_are_skipped_and_random_init_vggs_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTRUCTURE_OFFLINE", "1")
    cfg = small_config(data_dir=str(tmp_path))
    cfg["networks"]["vgg"] = {"arch": "vgg", "dataset": "cifar10", "seeds": [0], "conditions": {"none": {}}}
    cfg["networks"]["vgg-init"] = {"kind": "random_init", "arch": "vgg", "dataset": "cifar10", "seeds": [0, 1]}
    cfg["clusterability"]["networks"].update({"vgg": {}, "vgg-init": {"n_shuffles": 0}})
    validate(cfg, str(SCHEMA))
    said = []
    assert wc.available_networks(cfg, "vgg", report=said.append) == [] and wc.missing_data(cfg, "vgg")
    assert len(wc.available_networks(cfg, "vgg-init")) == 2 and wc.missing_data(cfg, "vgg-init") is None
    entries = {cell.entry for cell in wc.analysis_cells(cfg, "clusterability", report=said.append)}
    assert entries == {"mlp-lines", "cnn-lines", "vgg-init"}
    assert [m.split(":")[0] for m in said] == ["skipping network set vgg", "skipping clusterability.networks.vgg"]
    assert wc.used_datasets(cfg) == ["lines"]
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"verified when used")
    assert wc.missing_data(cfg, "vgg") is None and wc.used_datasets(cfg) == ["cifar10", "lines"]


def test_seeds_differ_between_networks_and_are_stable():
    cfg = small_config()
    nets = list(wc.networks_of(cfg, "mlp-lines"))
    # The seeds every run so far trained these networks with (the low 31 bits of the first 4 bytes, little-endian,
    # of sha256("<set>\x1f<condition>\x1f<seed>")): a change would retrain every network and change every number.
    assert {n: wc.train_params(cfg, n)["seed"] for n in nets} == {
        wc.Network("mlp-lines", "none", 0): 792923189, wc.Network("mlp-lines", "none", 1): 765831452,
        wc.Network("mlp-lines", "dropout", 0): 826547904, wc.Network("mlp-lines", "dropout", 1): 182813022,
    }


def test_row_labels_match_thesis_keys():
    cfg = small_config()
    cfg["networks"]["mlp-lines"]["conditions"]["ci"] = {"reg": "none", "clusterable_init": True}
    labels = wc.row_labels(cfg, wc.AnalysisCell("mlp-lines", wc.Network("mlp-lines", "ci", 1), "pruned"))
    assert labels["reg"] == "none" and labels["init"] == "clusterable" and labels["pruned"] is True
    assert labels["arch"] == "mlp" and labels["dataset"] == "lines" and labels["table"] == "A.1"


def test_unknown_network_set_or_condition_is_explained():
    cfg = small_config()
    with pytest.raises(ValueError, match="unknown network set 'nope'"):
        wc.network_settings(cfg, wc.Network("nope", "none", 0))
    with pytest.raises(ValueError, match="has no condition 'l3'"):
        wc.network_settings(cfg, wc.Network("mlp-lines", "l3", 0))


def test_paper_preset_networks_match_the_thesis_design():
    """Counts derived from the paper preset's own structure, checked against the thesis's design."""
    cfg = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    validate(cfg, str(SCHEMA))
    trained = {n: s for n, s in cfg["networks"].items() if s.get("kind", "trained") == "trained"}
    # Thesis: 5 replicates per condition for Tables A.1-A.6, A.8-A.11, 10 for Tables 3.4-3.11 and Figure 3.7's k-sweep.
    assert {len(s["seeds"]) for s in trained.values()} == {1, 5, 10}
    assert all(len(s["seeds"]) == 100 for s in cfg["networks"].values() if s.get("kind") == "random_init")
    assert cfg["clusterability"]["networks"]["mlp-mnist-ks"]["k"] == [2, 4, 7, 10]
    # Every network set is analysed by some entry, and the VGG sets train 200 + 50 epochs.
    assert set(wc.used_network_sets(cfg)) == set(cfg["networks"])
    assert wc.network_settings(cfg, wc.Network("vgg-cifar10", "none", 0))["epochs"] == 200


def _subcommand(name):
    import argparse

    from nnstructure.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_chapter5_settings_are_their_commands_options_with_the_same_defaults():
    from nnstructure.reward.settings import (
        GAMES,
        NETWORK_KIND_COMMANDS,
        NETWORK_KIND_SETTINGS,
        SHARD_KEYS,
        TRANSITION_SETTINGS,
    )
    from nnstructure.reward.state import GAMES as STATE_GAMES

    assert GAMES == STATE_GAMES
    for kind, table in NETWORK_KIND_SETTINGS.items():
        options = {a.dest: a for a in _subcommand(NETWORK_KIND_COMMANDS[kind])._actions}
        for name, spec in table.items():
            assert name in options, f"{kind}: {name} is not an option of nnstructure {NETWORK_KIND_COMMANDS[kind]}"
            if "default" in spec:
                assert options[name].default == spec["default"], (kind, name)
    shard = {a.dest for a in _subcommand("transitions")._actions}
    assert {k for k in SHARD_KEYS if k != "episodes_per_shard"} <= shard and "episodes" in shard
    assert set(TRANSITION_SETTINGS) >= set(SHARD_KEYS)


def test_chapter5_networks_and_analyses():
    cfg = small_config(
        extra_networks={
            "coin": {"kind": "reward", "transitions": "coinrun", "seeds": [0],
                     "conditions": {"a": {"epochs": 2, "thesis_network": "coinrun-15"}}},
            "dots": {"kind": "dots", "seeds": [0],
                     "conditions": {"regression-50": {"task": "regression", "n_train": 10, "epochs": 1}}},
        },
        transitions={"coinrun": {"game": "coinrun", "shards": 3, "edits": 4}},
        reward={"networks": {"coin": {}}},
        probes={"networks": {"coin": {"layers": [2]}, "dots": {"targets": ["pair_distances"], "random_networks": 2}}},
    )
    validate(cfg, str(SCHEMA))
    net = wc.Network("coin", "a", 0)
    params = wc.ch5_train_params(cfg, net)
    assert params["settings"]["epochs"] == 2 and params["settings"]["batch_size"] == 128 and params["kind"] == "reward"
    # A setting whose default is null ("the thesis's channels") stays out of the params until it is set, so adding
    # it reran no existing network; set, it is a param; set to null, it is the default again.
    assert "channels" not in params["settings"]
    train = cfg["networks"]["coin"].setdefault("train", {})
    train["channels"] = [12, 8, 12, 12, 8]
    validate(cfg, str(SCHEMA))
    assert wc.ch5_train_params(cfg, net)["settings"]["channels"] == [12, 8, 12, 12, 8]
    train["channels"] = None
    validate(cfg, str(SCHEMA))
    assert wc.ch5_train_params(cfg, net) == params
    del train["channels"]
    assert wc.thesis_network(cfg, net) == "coinrun-15" and wc.network_label(cfg, net) == "coin-a"
    assert wc.network_label(cfg, wc.Network("dots", "regression-50", 0)) == "dots-regression-50"
    # Noise (clipped and unclipped), edited transitions and three visualisations per reward net.
    tests = sorted((j["test"], j["variant"]) for j in wc.reward_jobs(cfg))
    assert tests == [("edits", "edits"), ("noise", "clip"), ("noise", "noclip"), ("visualization", "denovo"),
                     ("visualization", "from-dataset"), ("visualization", "from-edits")]
    probes = wc.probe_jobs(cfg)
    coin = [j for j in probes if j["entry"] == "coin"]
    dots = [j for j in probes if j["entry"] == "dots"]
    assert len(coin) == 2 * 1 * 4 and {j["init"] for j in coin} == {"trained", "random0"}
    assert len(dots) == 3 * 4 and {j["init"] for j in dots} == {"trained", "random0", "random1"}
    assert wc.shard_params(cfg, "coinrun", 2)["shard"] == 2 and wc.merge_params(cfg, "coinrun")["shards"] == 3
    # Training settings of a reward net never reach its tests' params; a reward net is no chapter-3 network.
    cfg["clusterability"]["networks"]["coin"] = {}
    with pytest.raises(wc.WorkflowConfigError, match="of kind 'reward'"):
        list(wc.analysis_cells(cfg, "clusterability"))


def test_chapter5_labels_are_params_of_the_aggregation_only():
    cfg = small_config(extra_networks={"coin": {"kind": "reward", "transitions": "coinrun", "seeds": [0],
                                                "thesis_network": "coinrun-15", "train": {"epochs": 2}}},
                       transitions={"coinrun": {"game": "coinrun"}}, probes={"layers": [2, 4], "networks": {"coin": {}}})
    validate(cfg, str(SCHEMA))
    net = wc.Network("coin", "none", 0)
    cell = next(wc.analysis_cells(cfg, "probes"))

    def per_network_params(config):
        return [wc.ch5_train_params(config, net), wc.probe_features_params(config, cell, "trained"),
                wc.probe_fit_params(config, cell, "trained", 2, "distance", "all")]

    before = per_network_params(cfg)
    columns = wc.reward_aggregate_columns(cfg, "res")
    assert columns["reward_rows"] == [{"network": "coin", "network_set": "coin", "condition": "none", "seed": 0,
                                       "thesis_network": "coinrun-15"}]
    assert wc.reward_aggregate_inputs(cfg, "res")["reward_rows"] == ["res/networks/coin/none/seed0/reward-row.parquet"]
    assert {c["network"] for c in columns["probes"]} == {"coin"} and len(columns["probes"]) == 2 * 2 * 4  # init x layer x target
    # A second seed renames seed 0 in the tables ("coin-seed0"), but changes none of its jobs' params.
    cfg["networks"]["coin"]["seeds"] = [0, 1]
    assert per_network_params(cfg) == before
    assert [c["network"] for c in wc.reward_aggregate_columns(cfg, "res")["reward_rows"]] == ["coin-seed0", "coin-seed1"]
    # The feature cache holds every probe layer, so other probe layers do not change it.
    cfg["probes"]["layers"] = [3]
    assert wc.probe_features_params(cfg, cell, "trained") == before[1]
    assert before[1]["layers"] == list(wc.PROBE_LAYERS)
    # The thesis network is a probe's param only while it sets the probe's epochs.
    assert before[2]["thesis_network"] == "coinrun-15"
    cfg["probes"]["epochs"] = 5
    fit = wc.probe_fit_params(cfg, cell, "trained", 2, "distance", "all")
    assert fit["epochs"] == 5 and "thesis_network" not in fit
    # Every transition probed (the default) leaves the features' params as they were; a subset is a param.
    assert "transitions_n" not in before[1]
    cfg["probes"]["transitions_n"] = 5000
    validate(cfg, str(SCHEMA))
    assert wc.probe_features_params(cfg, cell, "trained") == {**before[1], "transitions_n": 5000}


def test_job_network_name_comes_from_the_wildcards():
    assert wc.job_network_name({"network_set": "dots", "condition": "none", "seed": "1"}) == "dots/none/seed1"
    assert wc.job_network_name({"entry": "coin", "condition": "a", "seed": "0", "phase": "reward"}) == "coin/a/seed0"


def test_canonical_params_give_one_form_per_value():
    import numpy as np

    a = wc.canonical_params({"settings": {"b": (1, 2), "a": np.float64(0.5)}, "k": np.int64(3), "path": Path("x/y")})
    b = wc.canonical_params({"path": "x/y", "k": 3, "settings": {"a": 0.5, "b": [1, 2]}})
    assert repr(a) == repr(b) == "{'k': 3, 'path': 'x/y', 'settings': {'a': 0.5, 'b': [1, 2]}}"
    assert wc.canonical_params("ch5") == "ch5" and wc.canonical_params(None) is None

    def params(wildcards, output):
        return {"z": 1, "a": (wildcards, output)}

    wrapped = wc.canonical_param_function(params)
    import inspect

    assert list(inspect.signature(wrapped).parameters) == ["wildcards", "output"]  # what Snakemake passes
    assert repr(wrapped("w", output="o")) == "{'a': ['w', 'o'], 'z': 1}"


def test_numbers_the_schema_types_number_are_floats():
    cfg = small_config(train={"dropout": 0, "epochs": 2, "lr": 1})
    cfg["networks"]["mlp-lines"]["conditions"]["dropout"] = {"dropout": 1 - 1, "l2": 0}
    cfg["transitions"] = {"coinrun": {"game": "coinrun", "test_fraction": 0, "shards": 2}}
    cfg["networks"]["coin"] = {"kind": "reward", "transitions": "coinrun", "seeds": [0], "train": {"lr": 1}}
    wc.normalise_numbers(cfg, SCHEMA)
    assert repr(cfg["train"]["dropout"]) == "0.0" and repr(cfg["train"]["lr"]) == "1.0"
    assert repr(cfg["train"]["epochs"]) == "2" and repr(cfg["networks"]["mlp-lines"]["seeds"]) == "[0, 1]"
    assert repr(cfg["networks"]["mlp-lines"]["conditions"]["dropout"]) == "{'dropout': 0.0, 'l2': 0.0}"
    assert repr(cfg["transitions"]["coinrun"]["test_fraction"]) == "0.0" and cfg["transitions"]["coinrun"]["shards"] == 2
    assert repr(cfg["networks"]["coin"]["train"]["lr"]) == "1.0"
    assert cfg["clusterability"]["fold_batchnorm"] is True  # booleans are not numbers


def test_run_output_dir_reads_the_config_as_snakemake_does(tmp_path):
    (tmp_path / "a.yaml").write_text("preset: alpha\nresults_dir: out\n")
    (tmp_path / "b.yaml").write_text("preset: beta\n")
    a = str(tmp_path / "a.yaml")
    assert wc.run_output_dir(["--configfile", a]) == "out/alpha"
    assert wc.run_output_dir(["--configfile", a, "--config", "results_dir=../alt-results"]) == "../alt-results/alpha"
    assert wc.run_output_dir(["--configfile", a, "--cores", "2", "--config", "preset=x", "results_dir=/r"]) == "/r/x"
    assert wc.run_output_dir(["--configfile", a, "--configfile", str(tmp_path / "b.yaml")]) == "results/beta"
    assert wc.run_output_dir(["--configfile", a, "--directory", "/work/d"]) == "/work/d/out/alpha"


def test_make_run_reports_into_the_folder_of_the_run():
    import shlex
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make")
    args = "--config results_dir=../alt-results"
    out = subprocess.run(["make", "-n", "run", f"SNAKEMAKE_ARGS={args}"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "outdir=$(" in line)
    report = " ".join(lines[first:next(i for i, line in enumerate(lines) if "--report" in line) + 1])
    # The report step reads the run's config arguments, and so does the command that names its folder ...
    assert report.count(args) == 2, report
    helper = report.split("outdir=$(", 1)[1].split(")", 1)[0]
    # ... which prints the folder of this run.
    printed = subprocess.run(shlex.split(helper), cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "../alt-results/default"


def test_the_html_report_is_rebuilt_only_when_something_changed(tmp_path):
    import os

    from nnstructure.workflow.run import report_is_current

    out = tmp_path / "default"
    (out / "tables").mkdir(parents=True)
    table = out / "tables" / "t.parquet"
    table.write_text("x")
    assert not report_is_current(out)  # no report yet
    report = out / "report.html"
    report.write_text("<html>")
    os.utime(table, (1_000, 1_000))
    assert report_is_current(out)  # a no-op run: nothing newer than the report
    os.utime(table, (report.stat().st_mtime + 10,) * 2)
    assert not report_is_current(out)  # a job wrote something since


def test_conda_environment_pins_equal_requirements():
    def pins(lines):
        return sorted(line.split("#")[0].strip().lstrip("- ").strip() for line in lines
                      if "==" in line and not line.strip().startswith("#") and "python=" not in line)

    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    conda = pins((ROOT / "envs" / "nnstructure.yaml").read_text().splitlines())
    assert conda == requirements


def test_config_check_knows_every_analysis_section():
    """The pre-DAG reference check covers every analysis section the workflow defines (a new section's wrong
    network-set name is named in one line, not found later at DAG build)."""
    import nnstructure.workflow as wc
    from nnstructure import config_check

    assert set(config_check._ANALYSES) == set(wc.ANALYSES)
    config = {"networks": {"a": {"kind": "trained"}}, "partition_methods": {"networks": {"nope": {}}}}
    assert any("partition_methods.networks.nope" in line for line in config_check.reference_problems(config))
