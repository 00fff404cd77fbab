"""The Snakemake workflow itself: dry runs, config errors, a smoke run and incremental reruns."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args, cwd=ROOT, check=True):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["NNSTRUCTURE_DEVICE"] = "cpu"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run."""
    counts = {}
    lines = output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("job ") and "count" in line)
    except StopIteration:
        return counts
    for line in lines[start + 2 :]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m or m.group(1) == "total":
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def test_dry_run_default_config():
    out = snakemake("-n", "--cores", "2", "--directory", str(ROOT), "--config", "results_dir=/tmp/nnstructure-dryrun")
    counts = job_counts(out.stdout)
    assert counts["train"] == 14 and counts["dataset"] == 1 and counts["aggregate"] == 1


def test_dry_run_paper_lists_whole_dag():
    out = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config" / "paper.yaml"),
                    "--config", "results_dir=/tmp/nnstructure-dryrun")
    counts = job_counts(out.stdout)
    assert counts["train"] == 649
    assert counts["dataset"] == 18  # every dataset name but dots (chapter 5)


def test_a_preset_replaces_the_default_config():
    out = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config" / "mnist-a1.yaml"),
                    "--config", "results_dir=/tmp/nnstructure-dryrun")
    counts = job_counts(out.stdout)
    assert counts["train"] == 4  # not merged with config.yaml's random-init experiment


def test_bad_config_stops_before_any_job(tmp_path):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["clustering"]["n_shufles"] = 3
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", "--cores", "1", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    assert out.returncode != 0
    message = out.stdout + out.stderr
    assert "n_shufles" in message and "n_shuffles" in message
    assert "Job stats" not in out.stdout


SMOKE = {
    "preset": "smoke",
    "data_dir": "data",
    "device": "cpu",
    "datasets": {"lines": {"n_train": 400, "n_test": 200}},
    # prune_frequency 1: the pruning phase has only 7 steps (TF-MOT updates masks every `frequency` steps).
    "train": {"epochs": 1, "prune_epochs": 1, "batch_size": 64, "widths": [24, 24], "prune_frequency": 1},
    "clustering": {"k": 3, "n_init": 2, "n_shuffles": 3, "shuffle": "layer"},
    "threads": {"shuffles": 1},
    "experiments": {
        "mlp-lines": {
            "arch": "mlp", "dataset": "lines", "seeds": [0],
            "conditions": {"none": {}, "dropout": {"dropout": 0.5}},
        },
        "mlp-init": {
            "kind": "random_init", "arch": "mlp", "dataset": "lines", "seeds": [0, 1],
            "train": {"epochs": 0, "prune_epochs": 0}, "conditions": {"none": {}},
        },
    },
}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("smoke")
    (work / "config.yaml").write_text(yaml.safe_dump(SMOKE))
    snakemake("--cores", "2", "--directory", str(work), "--configfile", str(work / "config.yaml"))
    return work


def write_config(work, cfg):
    path = work / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def dry_counts(work, cfg):
    out = snakemake("-n", "--cores", "2", "--directory", str(work), "--configfile", write_config(work, cfg))
    return job_counts(out.stdout)


@pytest.mark.slow
def test_smoke_run_produces_tables_figures_scorecard(smoke_run):
    res = smoke_run / "results" / "smoke"
    rows = pd.read_parquet(res / "tables" / "clusterability.parquet")
    # 2 conditions x 2 phases with shuffles, plus 2 random-init networks.
    assert len(rows) == 6
    trained = rows[rows["kind"] == "clusterability"]
    assert set(trained["phase"]) == {"unpruned", "pruned"}
    assert trained["n_shuffles"].eq(3).all()
    assert trained["p_value"].between(0.25, 1.0).all()  # (m + 1) / 4 for m in 0..3
    assert rows["ncut"].between(0, 3).all()  # n-cut <= k
    pruned = trained[trained["pruned"]]
    assert (pruned["sparsity"] > 0.85).all()
    shuffles = pd.read_parquet(res / "tables" / "shuffles.parquet")
    assert len(shuffles) == 4 * 3
    for name in ("table_clusterability.md", "scorecard.md", "fig_ncut_vs_shuffles.png",
                 "fig_shuffle_distributions.png", "fig_random_init.png"):
        assert (res / "report" / name).stat().st_size > 0, name
    assert (res / "datasets" / "lines.png").stat().st_size > 0


@pytest.mark.slow
def test_nothing_to_do_after_a_complete_run(smoke_run):
    out = snakemake("-n", "--cores", "2", "--directory", str(smoke_run), "--configfile", str(smoke_run / "config.yaml"))
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_changing_clustering_settings_reruns_only_clustering(smoke_run):
    for edit in ({"k": 4}, {"n_shuffles": 5}):
        cfg = yaml.safe_load(yaml.safe_dump(SMOKE))
        cfg["clustering"].update(edit)
        counts = dry_counts(smoke_run, cfg)
        assert "train" not in counts and "dataset" not in counts and "graph" not in counts, counts
        assert counts.get("aggregate") == 1
    cfg = yaml.safe_load(yaml.safe_dump(SMOKE))
    cfg["clustering"]["n_shuffles"] = 5
    counts = dry_counts(smoke_run, cfg)
    assert counts["shuffles"] == 4 and "cluster" not in counts


@pytest.mark.slow
def test_changing_one_condition_retrains_only_it(smoke_run):
    cfg = yaml.safe_load(yaml.safe_dump(SMOKE))
    cfg["experiments"]["mlp-lines"]["conditions"]["dropout"] = {"dropout": 0.3}
    counts = dry_counts(smoke_run, cfg)
    assert counts["train"] == 1 and "dataset" not in counts


@pytest.mark.slow
def test_adding_a_seed_trains_one_more_network_per_condition(smoke_run):
    cfg = yaml.safe_load(yaml.safe_dump(SMOKE))
    cfg["experiments"]["mlp-lines"]["seeds"] = [0, 1]
    counts = dry_counts(smoke_run, cfg)
    assert counts["train"] == 2


def test_imagenet_skipped_with_a_message_when_no_weights(tmp_path):
    cfg = {"preset": "inet", "data_dir": str(tmp_path / "data"), "results_dir": str(tmp_path / "results"),
           "imagenet": {"enabled": True, "archs": ["resnet18", "vgg16"]}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", "--cores", "1", "--configfile", str(tmp_path / "c.yaml"))
    message = out.stdout + out.stderr
    assert "skipping ImageNet resnet18" in message and "skipping ImageNet vgg16" in message
    assert "resnet18.pth" in message


@pytest.mark.slow
def test_imagenet_network_analysed_when_weights_present(tmp_path):
    """Table A.7's path on a randomly initialised ResNet-18 saved as torchvision would."""
    import torch

    from nnstructure.imagenet import build_imagenet_model

    (tmp_path / "data" / "imagenet").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(build_imagenet_model("resnet18").state_dict(), tmp_path / "data" / "imagenet" / "resnet18.pth")
    cfg = {"preset": "inet", "data_dir": str(tmp_path / "data"), "results_dir": str(tmp_path / "results"),
           "imagenet": {"enabled": True, "archs": ["resnet18"], "k": 4, "n_init": 2, "n_shuffles": 2}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    snakemake("--cores", "2", "--configfile", str(tmp_path / "c.yaml"))
    rows = pd.read_parquet(tmp_path / "results" / "inet" / "tables" / "clusterability.parquet")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["arch"] == "resnet18" and row["dataset"] == "imagenet" and row["n_shuffles"] == 2
    assert 0 < row["ncut"] <= 4 and row["n_nodes"] == 4352
    assert (tmp_path / "results" / "inet" / "report" / "scorecard.md").exists()
