"""Config validation and the experiment-cell logic behind the Snakefile."""

from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from nnstructure import workflow_config as wc
from nnstructure.config_check import ConfigError, check_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def small_config(**extra):
    cfg = {
        "experiments": {
            "mlp-lines": {
                "arch": "mlp",
                "dataset": "lines",
                "seeds": [0, 1],
                "conditions": {"none": {}, "dropout": {"dropout": 0.5}},
                "train": {"epochs": 2, "prune_epochs": 1},
            }
        }
    }
    cfg.update(extra)
    check_config(cfg, SCHEMA)
    validate(cfg, str(SCHEMA))
    return cfg


@pytest.mark.parametrize(
    "bad, key, allowed",
    [
        ({"clustering": {"kk": 3}}, "'kk'", "n_shuffles"),
        ({"clustering": {"shuffle": "random"}}, "clustering.shuffle", "layer, nonzero"),
        ({"train": {"epochs": -1}}, "train.epochs", ">= 0"),
        ({"train": {"dropout": 1.5}}, "train.dropout", "< 1"),
        ({"device": "gpu"}, "device", "auto|cpu"),
        ({"clustering": {"k": "twelve"}}, "clustering.k", "integer"),
        ({"typo_key": 1}, "'typo_key'", "experiments"),
    ],
)
def test_invalid_config_names_key_and_what_is_allowed(bad, key, allowed):
    with pytest.raises(ConfigError) as info:
        check_config(bad, SCHEMA)
    assert key in str(info.value)
    assert allowed in str(info.value)


def test_unknown_condition_setting_is_named():
    cfg = {"experiments": {"e": {"arch": "mlp", "dataset": "mnist", "seeds": [0], "conditions": {"none": {"dropuot": 0.5}}}}}
    with pytest.raises(ConfigError, match=r"'dropuot' under 'experiments.e.conditions.none'"):
        check_config(cfg, SCHEMA)


def test_shipped_presets_validate():
    for path in (ROOT / "config.yaml", ROOT / "config" / "paper.yaml"):
        cfg = yaml.safe_load(path.read_text())
        check_config(cfg, SCHEMA)
        validate(cfg, str(SCHEMA))
        assert list(wc.cells(cfg)), path


def test_defaults_filled_and_settings_layered():
    cfg = small_config(train={"batch_size": 64})
    assert cfg["clustering"]["k"] == 12 and cfg["clustering"]["n_shuffles"] == 50
    s = wc.train_settings(cfg, "mlp-lines", "dropout")
    assert s["dropout"] == 0.5 and s["epochs"] == 2 and s["batch_size"] == 64 and s["lr"] == 0.001
    assert wc.train_settings(cfg, "mlp-lines", "none")["dropout"] == 0.0


def test_cells_phases_and_targets():
    cfg = small_config()
    cells = list(wc.cells(cfg))
    assert len(cells) == 4
    assert wc.phases(cfg, "mlp-lines") == ["unpruned", "pruned"]
    rows = wc.row_targets(cfg, "R")
    assert len(rows) == 8 and all(r.startswith("R/rows/mlp-lines/") for r in rows)
    assert len(wc.shuffle_targets(cfg, "R")) == 8


def test_params_separate_training_from_clustering():
    cfg = small_config()
    cell = wc.Cell("mlp-lines", "none", 0)
    before = wc.train_params(cfg, cell)
    cfg["clustering"]["k"] = 4
    cfg["clustering"]["n_shuffles"] = 7
    assert wc.train_params(cfg, cell) == before
    assert wc.shuffle_params(cfg, cell, "pruned", 4, "layer")["n_shuffles"] == 7
    # Editing one condition leaves the other's params alone.
    other = wc.train_params(cfg, wc.Cell("mlp-lines", "dropout", 0))
    cfg["experiments"]["mlp-lines"]["conditions"]["none"]["l2"] = 1e-4
    assert wc.train_params(cfg, cell) != before
    assert wc.train_params(cfg, wc.Cell("mlp-lines", "dropout", 0)) == other


def test_seeds_differ_between_cells_and_are_stable():
    cfg = small_config()
    seeds = {wc.train_params(cfg, c)["seed"] for c in wc.cells(cfg)}
    assert len(seeds) == 4
    assert wc.train_params(cfg, wc.Cell("mlp-lines", "none", 0))["seed"] == wc.train_params(
        small_config(), wc.Cell("mlp-lines", "none", 0)
    )["seed"]


def test_random_init_experiment_has_no_shuffles_and_one_phase():
    cfg = small_config()
    cfg["experiments"]["init"] = {
        "kind": "random_init", "arch": "mlp", "dataset": "lines", "seeds": [0, 1, 2],
        "train": {"epochs": 0, "prune_epochs": 0}, "conditions": {"none": {}},
    }
    validate(cfg, str(SCHEMA))
    assert wc.phases(cfg, "init") == ["unpruned"]
    rows = [r for r in wc.row_targets(cfg, "R") if "/init/" in r]
    assert rows == [f"R/rows/init/none/seed{s}/unpruned-k12-none.parquet" for s in range(3)]
    labels = wc.row_labels(cfg, wc.Cell("init", "none", 0), "unpruned")
    assert labels["kind"] == "random_init" and labels["pruned"] is False


def test_row_labels_match_thesis_keys():
    cfg = small_config()
    cfg["experiments"]["mlp-lines"]["conditions"]["ci"] = {"reg": "none", "clusterable_init": True}
    labels = wc.row_labels(cfg, wc.Cell("mlp-lines", "ci", 1), "pruned")
    assert labels["reg"] == "none" and labels["init"] == "clusterable" and labels["pruned"] is True
    assert labels["arch"] == "mlp" and labels["dataset"] == "lines"


def test_unknown_experiment_or_condition_is_explained():
    cfg = small_config()
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        wc.train_settings(cfg, "nope", "none")
    with pytest.raises(ValueError, match="has no condition 'l3'"):
        wc.train_settings(cfg, "mlp-lines", "l3")
