"""config/mlp-cpu.yaml: every MLP cell of chapters 3 and 4 at the thesis's settings, one seed each, plans a valid DAG."""

from pathlib import Path

import pandas as pd
import yaml

from test_workflow_dry_runs import _trained_and_init
from test_workflow_snakemake import job_counts, snakemake

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "config" / "mlp-cpu.yaml"


def test_mlp_cpu_preset_plans_every_mlp_cell(tmp_path):
    cfg = yaml.safe_load(PRESET.read_text())
    out = snakemake("-n", "--cores", "2", "--configfile", str(PRESET), "--config", f"results_dir={tmp_path}")
    counts = job_counts(out.stdout)
    trained, init = _trained_and_init(cfg)
    assert counts["train"] == trained == 30 and counts["init_network"] == init == 100
    datasets = {s["dataset"] for s in cfg["networks"].values() if s.get("kind", "trained") == "trained"}
    assert counts["dataset"] == len(datasets)
    assert all(s.get("arch") == "mlp" and s.get("seeds") in ([0], list(range(100))) for s in cfg["networks"].values())
    # chapter 4: one network, four partitionings, one lesion and one visualisation job each
    assert counts["partition"] == counts["lesion"] == counts["visualization"] == 4
    assert counts["report_ch3"] == counts["report_ch4"] == counts["scorecard"] == 1
    # every chapter-3 table label it uses is a thesis table with numbers (figure entries aside), Table 3.5 left out
    labels = {str(e["table"]) for e in cfg["clusterability"]["networks"].values()}
    thesis = set(pd.read_csv(ROOT / "nnstructure" / "reference" / "thesis_ch3.csv", dtype=str)["table"])
    tables = {label for label in labels if not label.endswith("-fig")}
    assert tables - {"3.7-3.10"} <= thesis and {"3.7", "3.8", "3.9", "3.10"} <= thesis
    assert {"A.1", "A.2", "A.3", "3.1", "3.2", "3.4", "3.6", "3.11", "A.9"} <= tables and "3.5" not in tables
