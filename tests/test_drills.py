"""Reliability drills: runs killed with kill -9 come back, through Snakemake, to exactly the uninterrupted results.

1. kill -9 of Snakemake *and* its training job (a crashed node) in the middle of
   training, then the same command: training resumes from its last finished
   epoch and every artifact equals an uninterrupted run's, byte for byte.
2. kill -9 of `snakemake --cores 2` alone (its job carries on as an orphan),
   then what `make run` does (nnstructure.recovery stops the orphan, Snakemake
   unlocks and reruns incomplete jobs): the run finishes with identical results.
3. Two runs of the same config give identical bytes for every artifact (the
   uninterrupted reference is compared with both drills).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nnstructure.compare_runs import compare_runs

ROOT = Path(__file__).resolve().parents[1]
PRESET = "drill"
CONFIG = {
    "preset": PRESET,
    "device": "cpu",
    "datasets": {"lines": {"n_train": 6000, "n_test": 200}},
    "train": {"epochs": 10, "prune_epochs": 0, "batch_size": 64, "widths": [256, 256]},
    "threads": {"shuffles": 1},
    "networks": {"mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0], "conditions": {"none": {}}}},
    "clusterability": {"k": 3, "n_init": 2, "n_shuffles": 2, "networks": {"mlp-lines": {}}},
}
TARGET = f"results/{PRESET}/tables/clusterability.parquet"
# The resume state training writes after every epoch (beside its final checkpoint; no pruning here).
PARTIAL = f"results/{PRESET}/networks/mlp-lines/none/seed0/final.pt.partial"


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _snakemake_cmd(work: Path, *extra: str, target: bool = True) -> list[str]:
    # the target comes first: after --configfile it would be read as a second config file
    return [sys.executable, "-m", "snakemake", *([TARGET] if target else []), "-s", str(ROOT / "Snakefile"),
            "--cores", "2", "--directory", str(work), "--configfile", str(work / "config.yaml"), *extra]


def _run(work: Path, *extra: str, target: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(_snakemake_cmd(work, *extra, target=target), env=_env(), capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _workdir(tmp_path_factory, name: str) -> Path:
    work = tmp_path_factory.mktemp(name)
    (work / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return work


def _start_and_kill_during_training(work: Path, whole_group: bool) -> None:
    """Start the run; once training has finished an epoch, kill -9 Snakemake (and, if asked, its jobs)."""
    proc = subprocess.Popen(_snakemake_cmd(work), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not (work / PARTIAL).exists():
            assert proc.poll() is None, "the run ended before training wrote its first resume state"
            assert time.monotonic() < deadline, "training never wrote a resume state"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):  # (already gone if an assertion above fired)
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def _recover_and_rerun(work: Path) -> subprocess.CompletedProcess:
    """What `make run` does after a crash: stop leftover jobs, unlock, rerun incomplete jobs."""
    recovery = subprocess.run([sys.executable, "-m", "nnstructure.recovery", str(work)], capture_output=True, text=True,
                              env=_env(), timeout=120)
    assert recovery.returncode == 0, f"no stale lock found: {recovery.stderr}"
    _run(work, "--unlock", target=False)
    return _run(work, "--rerun-incomplete")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    work = _workdir(tmp_path_factory, "uninterrupted")
    _run(work)
    return work / "results" / PRESET


@pytest.mark.slow
def test_killed_node_resumes_training_and_matches_an_uninterrupted_run(uninterrupted, tmp_path_factory):
    work = _workdir(tmp_path_factory, "killed-node")
    _start_and_kill_during_training(work, whole_group=True)
    assert (work / PARTIAL).exists()
    _recover_and_rerun(work)
    log = (work / "results" / PRESET / "logs" / "train" / "mlp-lines" / "none" / "seed0.log").read_text()
    assert "resuming from" in log and "of 10" in log, log[-2000:]
    counts = compare_runs(uninterrupted, work / "results" / PRESET)
    assert counts["bytes"] > 0


@pytest.mark.slow
def test_killed_snakemake_recovers_like_make_run_and_matches(uninterrupted, tmp_path_factory):
    work = _workdir(tmp_path_factory, "killed-snakemake")
    _start_and_kill_during_training(work, whole_group=False)  # the training job is now an orphan
    _recover_and_rerun(work)
    compare_runs(uninterrupted, work / "results" / PRESET)
