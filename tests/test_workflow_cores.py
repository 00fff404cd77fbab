"""`--cores N` bounds the jobs running at once: a regression test for the Snakemake release this workflow pins."""

import re

import yaml
from test_workflow_snakemake import snakemake

TINY = {
    "preset": "cores", "data_dir": "data", "device": "cpu",
    "datasets": {"lines": {"n_train": 64, "n_test": 32}},
    "train": {"epochs": 1, "prune_epochs": 0, "batch_size": 32, "widths": [8]},
    "networks": {"mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0, 1, 2]}},
}


def most_jobs_running(log_text: str) -> int:
    """The most jobs a Snakemake log shows running at once ("Execute N jobs..." starts N, "Finished jobid" ends one)."""
    running = most = 0
    for line in log_text.splitlines():
        started = re.match(r"Execute (\d+) jobs", line)
        if started:
            running += int(started.group(1))
            most = max(most, running)
        elif line.startswith("Finished jobid"):
            running -= 1
    return most


def test_most_jobs_running_reads_starts_and_ends():
    assert most_jobs_running("Execute 1 jobs...\nExecute 2 jobs...\nFinished jobid: 3\nExecute 1 jobs...") == 3
    assert most_jobs_running("Execute 1 jobs...\nFinished jobid: 1\nExecute 1 jobs...\nFinished jobid: 2") == 1


def test_one_core_runs_one_job_at_a_time(tmp_path):
    """Three one-thread trainings wait on one dataset job. Snakemake 9.10 to 9.14 started all the jobs that a
    just-finished job had been holding back at once (snakemake#3913): two or three trainings on one core."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    targets = [f"results/cores/networks/mlp-lines/none/seed{seed}/final.pt" for seed in range(3)]
    snakemake(*targets, "--cores", "1", "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"))
    logs = list((tmp_path / ".snakemake" / "log").glob("*.snakemake.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert text.count("Finished jobid") == 4  # the dataset and three trainings
    assert most_jobs_running(text) == 1
