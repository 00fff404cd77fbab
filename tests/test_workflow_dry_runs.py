"""The Snakemake workflow without a run: lint, dry runs of the shipped presets, config errors.

Apart from ``test_workflow_snakemake.py`` (its smoke run and the rerun checks on it), so that the two files run
side by side on make test's two workers.
"""

import yaml
from test_workflow_snakemake import ROOT, job_counts, snakemake


def test_lint_reports_nothing(tmp_path):
    out = snakemake("--lint", "--config", f"results_dir={tmp_path}")
    assert "Congratulations, your workflow is in a good condition!" in out.stdout + out.stderr, out.stdout + out.stderr


def _trained_and_init(cfg):
    trained = init = 0
    for s in cfg["networks"].values():
        n = len(s.get("seeds", [0])) * len(s.get("conditions") or {"none": {}})
        if s.get("kind", "trained") == "trained":
            trained += n
        elif s["kind"] == "random_init":
            init += n
    return trained, init


def test_dry_run_default_config(tmp_path):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    out = snakemake("-n", "--cores", "2", "--directory", str(ROOT), "--config", f"results_dir={tmp_path}")
    counts = job_counts(out.stdout)
    trained, init = _trained_and_init(cfg)
    assert counts["train"] == trained and counts["init_network"] == init
    assert counts["dataset"] == 1 and counts["aggregate_clusterability"] == 1 and counts["report_ch3"] == 1
    assert counts["scorecard"] == 1


OFFLINE = {"NNSTRUCTURE_OFFLINE": "1"}  # no download source: a dataset is there only if its file is


def paper_dry_run(tmp_path, data_dir):
    return snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config" / "paper.yaml"),
                     "--config", f"results_dir={tmp_path}", f"data_dir={data_dir}", env_extra=OFFLINE)


def test_dry_run_paper_lists_whole_dag(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    data = tmp_path / "data"
    (data / "cifar10").mkdir(parents=True)
    (data / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"a stand-in: a dry run reads no data")
    out = paper_dry_run(tmp_path, data)
    counts = job_counts(out.stdout)
    trained, init = _trained_and_init(cfg)
    assert counts["train"] == trained and counts["init_network"] == init
    datasets = {s["dataset"] for s in cfg["networks"].values() if s.get("kind", "trained") == "trained"}
    assert counts["dataset"] == len(datasets)
    # Without weight files the ImageNet networks are skipped, each with a message.
    assert "import_pretrained" not in counts
    assert all(f"skipping ImageNet {arch}" in out.stderr for arch in cfg["networks"]["imagenet"]["archs"])
    # Chapter 4: 4 partitionings x each entry's k x its networks, one lesion and one visualisation job each.
    spec = cfg["specialization"]
    expected = 0
    for name, entry in spec["networks"].items():
        net = cfg["networks"][entry.get("set", name)]
        if net.get("kind") == "pretrained":
            assert f"skipping specialization.networks.{name}" in out.stderr
            continue
        ks = entry.get("k", spec["k"])
        expected += len(net["seeds"]) * len(entry["conditions"]) * len(ks if isinstance(ks, list) else [ks]) * 4
    assert counts["partition"] == expected and counts["lesion"] == expected and counts["visualization"] == expected
    assert counts["specialization_stats"] == 1 and counts["report_ch4"] == 1
    # Chapter 5: one job per shard, one per network; probes: (1 + random networks) feature caches per network,
    # one fit per layer, target and filter.
    assert counts["transition_shard"] == sum(t["shards"] for t in cfg["transitions"].values())
    kinds = {n: s.get("kind") for n, s in cfg["networks"].items()}
    sizes = {n: len(s.get("seeds", [0])) * len(s.get("conditions") or {"none": {}}) for n, s in cfg["networks"].items()}
    assert counts["reward_net"] == sum(sizes[n] for n, k in kinds.items() if k == "reward")
    assert counts["dots_net"] == sizes["dots"] and counts["adversarial_net"] == sizes["coinrun-adversarial"]
    probes = cfg["probes"]
    fits = 0
    for name, entry in probes["networks"].items():
        setting = {**probes, **entry}
        fits += (sizes[name] * (1 + setting["random_networks"]) * len(setting["layers"])
                 * (len(setting["targets"]) + len(setting.get("filtered", []))))
    assert counts["probe_fit"] == fits


def test_dry_run_paper_without_cifar10_skips_only_what_needs_it(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    (tmp_path / "no-data").mkdir()
    out = paper_dry_run(tmp_path, tmp_path / "no-data")
    counts = job_counts(out.stdout)
    cifar_sets = {n for n, s in cfg["networks"].items() if s.get("dataset") == "cifar10" and s.get("kind", "trained") == "trained"}
    assert cifar_sets == {"vgg-cifar10", "vgg-cifar10-ci"}
    for name in cifar_sets:
        assert f"skipping network set {name}: no source of cifar10" in out.stderr
    for analysis in ("clusterability", "specialization"):
        for entry, spec in cfg[analysis]["networks"].items():
            skipped = f"skipping {analysis}.networks.{entry}: no source of cifar10" in out.stderr
            assert skipped == ((spec or {}).get("set", entry) in cifar_sets), (analysis, entry)
    trained, init = _trained_and_init(cfg)
    skipped_networks = sum(len(cfg["networks"][n]["seeds"]) * len(cfg["networks"][n]["conditions"]) for n in cifar_sets)
    # the random-init VGGs (Figure A.3) read no data and still run; no CIFAR-10 dataset job
    assert counts["train"] == trained - skipped_networks and counts["init_network"] == init
    datasets = {s["dataset"] for s in cfg["networks"].values() if s.get("kind", "trained") == "trained"}
    assert counts["dataset"] == len(datasets - {"cifar10"})
    assert counts["report_ch3"] == counts["report_ch4"] == counts["scorecard"] == 1


def test_a_preset_replaces_the_default_config(tmp_path):
    out = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config" / "mnist-a1.yaml"),
                    "--config", f"results_dir={tmp_path}")
    counts = job_counts(out.stdout)
    assert counts["train"] == 4 and "init_network" not in counts  # not merged with config.yaml's random-init set


def test_bad_config_stops_before_any_job(tmp_path):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["clusterability"]["n_shufles"] = 3
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", "--cores", "1", "--configfile", str(tmp_path / "bad.yaml"), check=False)
    assert out.returncode != 0
    message = out.stdout + out.stderr
    assert "n_shufles" in message and "n_shuffles" in message
    assert "Job stats" not in out.stdout


def test_imagenet_skipped_with_a_message_when_no_weights(tmp_path):
    cfg = {"preset": "inet", "data_dir": str(tmp_path / "data"), "results_dir": str(tmp_path / "results"),
           "networks": {"imagenet": {"kind": "pretrained", "archs": ["resnet18", "vgg16"]}},
           "clusterability": {"networks": {"imagenet": {}}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", "--cores", "1", "--configfile", str(tmp_path / "c.yaml"))
    message = out.stdout + out.stderr
    assert "skipping ImageNet resnet18" in message and "skipping ImageNet vgg16" in message
    assert "resnet18.pth" in message
