"""The Snakemake workflow itself: lint, dry runs, config errors, one smoke run and exact reruns.

One smoke run on synthetic data (an MLP set with pruning, a small CNN, random-init
MLPs and a randomly initialised ResNet-18 saved as torchvision would) backs every
rerun test: each edits the config and asks Snakemake for a dry run, which must
list exactly the jobs the edit changes.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args, cwd=ROOT, check=True, env_extra=None):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
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


SMOKE = {
    "preset": "smoke",
    "data_dir": "data",
    "device": "cpu",
    "datasets": {"lines": {"n_train": 256, "n_test": 128}},
    # prune_frequency 1: the pruning phase has only 4 steps (TF-MOT updates masks every `frequency` steps).
    "train": {"epochs": 1, "prune_epochs": 1, "batch_size": 64, "widths": [24, 24], "prune_frequency": 1},
    "threads": {"shuffles": 1},
    "networks": {
        "mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0],
                      "conditions": {"none": {}, "dropout": {"dropout": 0.5}}},
        "cnn-lines": {"arch": "cnn", "dataset": "lines", "seeds": [0], "conditions": {"none": {}},
                      "train": {"prune_epochs": 0}},
        "mlp-init": {"kind": "random_init", "arch": "mlp", "dataset": "lines", "seeds": [0, 1]},
        "imagenet": {"kind": "pretrained", "archs": ["resnet18"]},
    },
    "clusterability": {
        "k": 3, "n_init": 2, "n_shuffles": 3, "shuffle": "layer",
        "networks": {"mlp-lines": {}, "cnn-lines": {}, "mlp-init": {"n_shuffles": 0},
                     "imagenet": {"k": 2, "n_shuffles": 2}},
    },
    # Chapter 4 on the same MLP networks (reused, not retrained): every partitioning, both proxies.
    "specialization": {
        "k": 4, "n_random": 3, "validation_size": 64, "visualization": {"steps": 5},
        "networks": {"mlp-lines": {"conditions": ["none"], "phases": ["unpruned"]}},
    },
    # Chapter 5: a tiny CoinRun dataset (2 shards), a reward net, an adversarial run, a dots net.
    "transitions": {"coinrun": {"game": "coinrun", "episodes_per_shard": 2, "shards": 2, "edits": 2, "test_fraction": 0.25}},
    "reward": {"noise_n": 4, "visualization_steps": 3, "visualization_modes": ["denovo"],
               "networks": {"coinrun-reward": {}, "coinrun-adversarial": {"visualization_modes": []}}},
    "probes": {"layers": [4], "targets": ["distance"],
               "networks": {"coinrun-reward": {}, "dots": {"targets": ["pair_distances"], "dots_n": 100}}},
}
TINY_REWARD = {"width_multiplier": 0.03125, "batch_size": 32}
SMOKE["networks"].update({
    "coinrun-reward": {"kind": "reward", "transitions": "coinrun", "seeds": [0], "thesis_network": "coinrun-15",
                       "train": {**TINY_REWARD, "epochs": 1}},
    "coinrun-adversarial": {"kind": "adversarial", "transitions": "coinrun", "seeds": [0],
                            "train": {**TINY_REWARD, "epochs": 2, "first_adversarial_epoch": 1, "optimization_steps": 2}},
    "dots": {"kind": "dots", "seeds": [0], "train": TINY_REWARD,
             "conditions": {"regression-50": {"task": "regression", "n_train": 128, "n_test": 32, "epochs": 1}}},
})


def save_random_resnet18(path, seed):
    import torch

    from nnstructure.imagenet import build_imagenet_model

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = build_imagenet_model("resnet18").state_dict()
    torch.save(state, path)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("smoke")
    save_random_resnet18(work / "data" / "imagenet" / "resnet18.pth", seed=0)
    (work / "config.yaml").write_text(yaml.safe_dump(SMOKE))
    snakemake("--cores", "2", "--directory", str(work), "--configfile", str(work / "config.yaml"))
    return work


def edited(edit):
    cfg = yaml.safe_load(yaml.safe_dump(SMOKE))
    edit(cfg)
    return cfg


def dry_run(work, cfg, text=None):
    """A dry run of the smoke folder with ``cfg`` (or the YAML ``text``) as its config."""
    path = work / "edited.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(cfg))
    return snakemake("-n", "--cores", "2", "--directory", str(work), "--configfile", str(path))


def dry_counts(work, cfg):
    return job_counts(dry_run(work, cfg).stdout)


def planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """Every job of a dry run as (rule, wildcards)."""
    jobs = []
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            jobs.append((m.group(1), {}))
        elif jobs and line.startswith("    wildcards: "):
            jobs[-1][1].update(item.split("=", 1) for item in line[len("    wildcards: "):].split(", "))
    return jobs


@pytest.mark.slow
def test_smoke_run_produces_tables_figures_scorecard(smoke_run):
    from nnstructure.cluster import read_cluster_summary
    from nnstructure.cluster.ncut import ncut
    from nnstructure.graph import load_graph

    res = smoke_run / "results" / "smoke"
    rows = pd.read_parquet(res / "tables" / "clusterability.parquet")
    # mlp: 2 conditions x 2 phases; cnn: 1; random init: 2; resnet18: 1.
    assert len(rows) == 8
    assert sorted(rows["kind"].value_counts().items()) == [("pretrained", 1), ("random_init", 2), ("trained", 5)]
    shuffles = pd.read_parquet(res / "tables" / "shuffles.parquet")
    for _, row in rows.iterrows():
        # Each row's n-cut is the n-cut of its own labels on its own graph ...
        cell = f"{row['experiment']}/{row['condition']}/seed{row['seed']}"
        labels = pd.read_parquet(res / "clusterability" / "clusters" / cell / f"{row['phase']}-k{row['k']}.parquet")
        graph = load_graph(res / "clusterability" / "graphs" / cell / f"{row['phase']}.npz")
        assert ncut(graph.adjacency, labels["label"].to_numpy()) == pytest.approx(row["ncut"], rel=1e-9)
        assert read_cluster_summary(res / "clusterability" / "clusters" / cell / f"{row['phase']}-k{row['k']}.parquet")["ncut"] == row["ncut"]
        # ... and its shuffle statistics are those of its own shuffle table (paired by key, not position).
        mine = shuffles[(shuffles["experiment"] == row["experiment"]) & (shuffles["condition"] == row["condition"])
                        & (shuffles["seed"] == row["seed"]) & (shuffles["phase"] == row["phase"])]["ncut"].to_numpy()
        assert len(mine) == row["n_shuffles"]
        if len(mine):
            assert row["shuffle_mean"] == pytest.approx(mine.mean())
            assert row["p_value"] == pytest.approx((1 + np.sum(mine <= row["ncut"])) / (1 + len(mine)))
        # Every row records the settings and devices that produced it.
        assert row["train_device"] == "cpu" if row["kind"] != "pretrained" else row["weights_sha256"]
    trained = rows[rows["kind"] == "trained"]
    assert trained["lr"].eq(0.001).all() and set(trained["dropout"]) == {0.0, 0.5}
    assert trained["shuffle_device"].eq("cpu").all()
    mlp = rows[rows["arch"] == "mlp"]
    assert mlp["kernel_norm"].isna().all()  # graph settings do not apply to MLPs, so rows record none
    assert rows.loc[rows["arch"] == "cnn", "kernel_norm"].eq("l1").all()
    pruned = trained[trained["pruned"]]
    assert (pruned["sparsity"] > 0.85).all()
    resnet = rows[rows["kind"] == "pretrained"].iloc[0]
    assert resnet["arch"] == "resnet18" and resnet["dataset"] == "imagenet" and resnet["n_nodes"] == 4352
    for name in ("ch3/tables/table_clusterability.md", "ch3/scorecard.md", "ch3/figures/fig_ncut_vs_shuffles.png",
                 "ch3/figures/fig_random_init.png", "ch3/tables/imagenet.md",
                 "ch3/tables/mlp-lines.md", "scorecard.md"):
        assert (res / "report" / name).stat().st_size > 0, name
    combined = pd.read_parquet(res / "report" / "scorecard.parquet")
    assert set(combined["chapter"]) == {3, 4, 5} and "mean random-init n-cut" in set(combined["metric"])
    card_md = (res / "report" / "scorecard.md").read_text()
    assert all(f"Chapter {ch}: " in card_md and " compared, " in card_md for ch in (3, 4, 5))  # coverage lines
    # The index of the thesis's tables and figures: every id, and what this run made found where it is.
    index = (res / "report" / "index.md").read_text()
    from nnstructure.report.index import load_thesis_items

    assert all(f"| {item} |" in index for item in load_thesis_items()["id"])
    assert "| Table 5.1 | " in index and "[report/ch5/tables/table_5_1.md](../report/ch5/tables/table_5_1.md)" in index
    assert "[report/ch4/tables/table_4_1.md]" in index and "| expected but not written by this run |" not in index
    assert (res / "datasets" / "lines.png").stat().st_size > 0
    # Every job wrote a log and a benchmark; the training log keeps its last progress line.
    train_log = (res / "logs" / "train" / "mlp-lines" / "none" / "seed0.log").read_text()
    assert "2/2" in train_log.replace("\r", "\n").splitlines()[-1]
    assert "lines: 256 train, 128 test" in (res / "logs" / "dataset" / "lines.log").read_text()
    bench = pd.read_csv(res / "benchmarks" / "train" / "mlp-lines" / "none" / "seed0.tsv", sep="\t")
    assert {"s", "max_rss"} <= set(bench.columns)


@pytest.mark.slow
def test_nothing_to_do_after_a_complete_run(smoke_run):
    out = snakemake("-n", "--cores", "2", "--directory", str(smoke_run), "--configfile", str(smoke_run / "config.yaml"))
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_changing_clustering_settings_reruns_only_clustering(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["clusterability"].update(k=4)))
    assert set(counts) == {"cluster", "shuffles", "clusterability_row", "aggregate_clusterability", "report_ch3",
                           "scorecard", "all"}
    assert counts["cluster"] == 7  # every network phase but the ImageNet one, which sets its own k
    counts = dry_counts(smoke_run, edited(lambda c: c["clusterability"].update(n_shuffles=5)))
    assert counts["shuffles"] == 5 and "cluster" not in counts and "graph" not in counts


@pytest.mark.slow
def test_changing_one_condition_retrains_only_it(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["networks"]["mlp-lines"]["conditions"].update(dropout={"dropout": 0.3})))
    assert counts["train"] == 1 and counts["graph"] == 2 and "dataset" not in counts and "init_network" not in counts


@pytest.mark.slow
def test_adding_a_seed_trains_one_more_network_per_condition(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["networks"]["mlp-lines"].update(seeds=[0, 1])))
    assert counts["train"] == 2 and "init_network" not in counts


#: What gathers the per-network results: rerun whenever a network is added.
AGGREGATION_RULES = {"aggregate_clusterability", "report_ch3", "specialization_stats", "report_ch4", "aggregate_reward",
                     "report_ch5", "report_ch5_part2", "scorecard", "all"}


@pytest.mark.slow
def test_adding_a_seed_to_any_network_set_adds_only_that_seeds_jobs(smoke_run):
    # One new seed in every kind of network set: trained, random-init and the three chapter-5 kinds.
    new_seeds = {"mlp-lines": 1, "cnn-lines": 1, "mlp-init": 2, "coinrun-reward": 1, "coinrun-adversarial": 1, "dots": 1}
    cfg = edited(lambda c: [c["networks"][name]["seeds"].append(seed) for name, seed in new_seeds.items()])
    jobs = planned_jobs(dry_run(smoke_run, cfg).stdout)
    for rule, wildcards in jobs:
        if "seed" not in wildcards:
            assert rule in AGGREGATION_RULES, (rule, wildcards)
            continue
        name = wildcards.get("network_set", wildcards.get("entry"))
        assert int(wildcards["seed"]) == new_seeds[name], (rule, wildcards)  # nothing of an existing seed reruns
    counts = {rule: sum(r == rule for r, _ in jobs) for rule, _ in jobs}
    assert counts["train"] == 3 and counts["init_network"] == 1, counts
    assert counts["reward_net"] == counts["adversarial_net"] == counts["dots_net"] == 1, counts


@pytest.mark.slow
def test_config_written_in_another_key_order_reruns_nothing(smoke_run):
    def reversed_keys(value):
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in sorted(value, reverse=True)}
        return [reversed_keys(v) for v in value] if isinstance(value, list) else value

    cfg = reversed_keys(SMOKE)
    # The same numbers as other types: an integer where the schema says number (dropout's default is 0.0).
    cfg["train"]["dropout"] = 0
    out = dry_run(smoke_run, None, text=yaml.safe_dump(cfg, sort_keys=False))
    assert "Nothing to be done" in out.stdout + out.stderr, out.stdout[-3000:]


@pytest.mark.slow
def test_changing_the_probe_layers_fits_only_the_new_layer(smoke_run):
    # Layer 4 -> layer 3: the feature caches hold every layer, so only layer 3's probes are fitted.
    jobs = planned_jobs(dry_run(smoke_run, edited(lambda c: c["probes"].update(layers=[3]))).stdout)
    fits = [w for rule, w in jobs if rule == "probe_fit"]
    assert len(fits) == 4 and {w["layer"] for w in fits} == {"3"}, fits  # 2 networks x (trained, random0)
    assert {rule for rule, _ in jobs} == {"probe_fit", "aggregate_reward", "report_ch5", "report_ch5_part2", "scorecard",
                                          "all"}, jobs


@pytest.mark.slow
def test_changing_a_thesis_network_label_reruns_only_the_aggregation_and_reports(smoke_run):
    # thesis_network labels the tables and reports; it changes no network, no test and no feature cache. The
    # probe fits rerun only because their minimum epochs follow the thesis's caption of that network.
    jobs = planned_jobs(dry_run(smoke_run, edited(lambda c: c["networks"]["coinrun-reward"].update(
        thesis_network="coinrun-40"))).stdout)
    assert {rule for rule, _ in jobs} == {"probe_fit", "aggregate_reward", "report_ch5", "report_ch5_part2",
                                          "scorecard", "all"}, jobs
    assert {w["entry"] for rule, w in jobs if rule == "probe_fit"} == {"coinrun-reward"}, jobs
    # With the probe epochs set in the config, relabelling plans exactly the jobs that setting the epochs plans.
    def relabel(c):
        c["probes"]["epochs"] = 5
        c["networks"]["coinrun-reward"]["thesis_network"] = "coinrun-40"

    before = planned_jobs(dry_run(smoke_run, edited(lambda c: c["probes"].update(epochs=5))).stdout)
    after = planned_jobs(dry_run(smoke_run, edited(relabel)).stdout)
    assert sorted(map(str, after)) == sorted(map(str, before))


@pytest.mark.slow
def test_moving_the_data_directory_reruns_nothing(smoke_run):
    moved = smoke_run / "data-moved"
    shutil.copytree(smoke_run / "data", moved)  # the same content, new files and mtimes
    out = snakemake("-n", "--cores", "2", "--directory", str(smoke_run), "--configfile",
                    str(smoke_run / "config.yaml"), "--config", f"data_dir={moved}")
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_changing_the_device_reruns_nothing(smoke_run):
    out = snakemake("-n", "--cores", "2", "--directory", str(smoke_run), "--configfile", str(smoke_run / "config.yaml"),
                    "--config", "device=auto")
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_kernel_norm_reruns_only_convolutional_networks(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["clusterability"].update(kernel_norm="l2")))
    # The small CNN and the ResNet: one graph each, then their clustering, shuffles and rows.
    assert counts["graph"] == 2 and counts["cluster"] == 2 and counts["clusterability_row"] == 2, counts
    assert "train" not in counts and "init_network" not in counts


@pytest.mark.slow
def test_batch_size_does_not_touch_untrained_networks(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["train"].update(batch_size=32)))
    assert counts["train"] == 3 and "init_network" not in counts


@pytest.mark.slow
def test_imagenet_architectures_rerun_independently(smoke_run):
    import torch

    from nnstructure.imagenet import build_imagenet_model

    # Adding an architecture adds its own jobs and reruns no other ImageNet job.
    extra = smoke_run / "data-extra" / "imagenet"
    extra.mkdir(parents=True)
    shutil.copy2(smoke_run / "data" / "imagenet" / "resnet18.pth", extra / "resnet18.pth")
    torch.save(build_imagenet_model("resnet34").state_dict(), extra / "resnet34.pth")
    cfg = edited(lambda c: (c.update(data_dir=str(smoke_run / "data-extra")),
                            c["networks"]["imagenet"].update(archs=["resnet18", "resnet34"])))
    counts = dry_counts(smoke_run, cfg)
    assert counts["import_pretrained"] == 1 and counts["graph"] == 1 and counts["cluster"] == 1, counts
    # Replacing a weight file reruns that architecture's jobs.
    replaced = smoke_run / "data-replaced"
    save_random_resnet18(replaced / "imagenet" / "resnet18.pth", seed=1)
    counts = dry_counts(smoke_run, edited(lambda c: c.update(data_dir=str(replaced))))
    assert counts["import_pretrained"] == 1 and counts["graph"] == 1 and counts["cluster"] == 1
    assert "train" not in counts and counts["clusterability_row"] == 1


@pytest.mark.slow
def test_chapter_4_tables_figures_and_statistics(smoke_run):
    from nnstructure.specialization.partition import read_partition
    from nnstructure.stats import fisher_statistic

    res = smoke_run / "results" / "smoke"
    for name in ("tables/table_4_1.md", "tables/table_4_2.md", "tables/table_b_1.md", "tables/table_b_2.md",
                 "figures/fig_4_3.png", "figures/fig_4_4.png", "scorecard.parquet"):
        assert (res / "report" / "ch4" / name).stat().st_size > 0, name
    # Layer-wise partitions take k per layer from the network-wide partition of the same network.
    for graph in ("weight", "act"):
        _, summary = read_partition(res / "specialization" / "partitions" / "mlp-lines" / "none" / "seed0" /
                                    f"unpruned-{graph}-layer-k4.parquet")
        assert summary["partitioning"] == f"{graph}-layer"
    # The per-network Fisher statistic is -mean(log percentile) of that network's true subclusters.
    per_network = pd.read_parquet(res / "tables" / "specialization_per_network.parquet")
    pct = pd.read_parquet(res / "tables" / "specialization_percentiles.parquet")
    row = per_network.iloc[0]
    keys = [c for c in ("condition", "replicate", "partitioning", "k", "metric") if c in per_network and c in pct]
    mine = pct.loc[(pct[keys] == row[keys]).all(axis=1), "percentile"].to_numpy()
    assert len(mine) and row["fisher"] == pytest.approx(fisher_statistic(mine))
    stats = pd.read_parquet(res / "tables" / "specialization.parquet")
    assert set(stats["partitioning"]) == {"weight-network", "weight-layer", "act-network", "act-layer"}


@pytest.mark.slow
def test_random_subcluster_count_reruns_evaluation_and_statistics_only(smoke_run):
    counts = dry_counts(smoke_run, edited(lambda c: c["specialization"].update(n_random=5)))
    assert set(counts) == {"lesion", "visualization", "specialization_stats", "report_ch4", "scorecard", "all"}, counts
    assert counts["lesion"] == 4 and counts["visualization"] == 4


@pytest.mark.slow
def test_chapter_5_tables_figures_and_reruns(smoke_run):
    res = smoke_run / "results" / "smoke"
    for name in ("ch5/tables/table_5_1.md", "ch5/tables/table_5_2.md", "ch5/tables/transition_datasets.md",
                 "ch5/figures/fig_5_15.png", "ch5_part2/tables/table_5_3.md", "ch5_part2/tables/table_5_10.md",
                 "ch5_part2/tables/adversarial_training.md"):
        assert (res / "report" / name).stat().st_size > 0, name
    summary = pd.read_parquet(res / "transitions" / "coinrun" / "summary.parquet")
    rows = pd.read_parquet(res / "transitions" / "coinrun" / "transitions.parquet")
    assert int(summary["episodes"].iloc[0]) == 4 == rows["episode"].nunique()
    assert set(rows["split"]) <= {"train", "test"}
    noise = pd.read_parquet(res / "tables" / "noise.parquet")
    assert set(noise["clip"]) == {True, False} and noise["action"].nunique() == 15
    probes = pd.read_parquet(res / "tables" / "probes.parquet")
    assert {"trained", "random0"} == set(probes["init_kind"])
    # The noise test's size reruns the noise tests and what gathers them, nothing else.
    counts = dry_counts(smoke_run, edited(lambda c: c["reward"].update(noise_n=5)))
    assert set(counts) == {"noise_test", "aggregate_reward", "report_ch5", "report_ch5_part2", "scorecard", "all"}, counts
    assert counts["noise_test"] == 4
