"""A failed job's console line: the line of its log that says why it failed."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from nnstructure.logs import failed_jobs, last_error_line, report_failed_jobs

ROOT = Path(__file__).resolve().parents[1]

SNAKEMAKE_LOG = """\
Error in rule transition_shard:
    message: None
    jobid: 3
    output: r/shard-00001.npz
    log: {log} (check log file(s) for error details)
Shutting down, this might take some time.
Error in rule transition_shard:
    message: None
    jobid: 3
    log: {log} (check log file(s) for error details)
"""


def test_the_error_line_of_a_failed_job_comes_from_its_log(tmp_path):
    log = tmp_path / "shard.log"
    log.write_text('Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
                   "nnstructure.io.ArtifactError: shard-00001.npz is truncated or corrupt; delete it and rerun that shard's job\n")
    main = tmp_path / "snakemake.log"
    main.write_text(SNAKEMAKE_LOG.format(log=log))
    assert failed_jobs(main.read_text()) == [("transition_shard", [str(log)])]  # the summary's repeat counted once
    assert last_error_line(log).startswith("nnstructure.io.ArtifactError: shard-00001.npz is truncated")
    out = tmp_path / "out.txt"
    with open(out, "w") as stream:
        assert report_failed_jobs([str(main)], stream) == 1
    assert out.read_text().startswith("nnstructure: transition_shard failed: nnstructure.io.ArtifactError: shard-00001")
    assert last_error_line(tmp_path / "missing.log") is None


def test_a_failed_workflow_job_shows_its_error_on_the_console(tmp_path):
    (tmp_path / "data").mkdir()
    config = {"preset": "fail", "data_dir": "data", "results_dir": "results",
              "networks": {"m": {"arch": "mlp", "dataset": "mnist", "seeds": [0]}},
              "clusterability": {"networks": {"m": {}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "NNSTRUCTURE_OFFLINE": "1"}  # no MNIST anywhere: the dataset job fails
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(tmp_path / "config.yaml"), "--cores", "1", "--directory", str(tmp_path),
                          "results/fail/datasets/mnist.npz"], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.startswith("nnstructure: dataset failed:")]
    assert len(lines) == 1 and "mnist: 4 file(s) missing from data/mnist/" in lines[0], run.stderr[-2000:]
