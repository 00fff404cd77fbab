"""Reliability drills: runs killed with kill -9 come back, through Snakemake, to exactly the uninterrupted results.

1. kill -9 of Snakemake *and* its training job (a crashed node) in the middle of
   training, then the same command: training resumes from its last finished
   epoch and every artifact equals an uninterrupted run's, byte for byte.
2. kill -9 of `snakemake --cores 2` alone (its job carries on as an orphan),
   then what `make run` does (nnstructure.recovery stops the orphan, Snakemake
   unlocks and reruns incomplete jobs): the run finishes with identical results.
3. Two runs of the same config give identical bytes for every artifact (the
   uninterrupted reference is compared with both drills).
4. kill -9 of Snakemake and a running chapter-4 lesion job: the rerun lesions the
   same subclusters against the same random ones, and every artifact is identical.
5. kill -9 of Snakemake and a reward net's training (chapter 5; a few hundred
   CoinRun transitions): training resumes from its last finished epoch and every
   artifact, the transition dataset included, is identical.

Each drill is kept small (tiny networks and datasets, few subclusters) so that its
uninterrupted reference, the killed run and the rerun take about a minute together.
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

# Each drill runs Snakemake three times (reference, killed, recovered): about 35 CPU-seconds, half of the
# unit suite's time together. They run by `make test-drills` (CI runs it after `make test`), not `make test`.
pytestmark = pytest.mark.drill

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


def _snakemake_cmd(work: Path, *extra: str, target: str | None = TARGET) -> list[str]:
    # the target comes first: after --configfile it would be read as a second config file
    return [sys.executable, "-m", "snakemake", *([target] if target else []), "-s", str(ROOT / "Snakefile"),
            "--cores", "2", "--directory", str(work), "--configfile", str(work / "config.yaml"), *extra]


def _run(work: Path, *extra: str, target: str | None = TARGET) -> subprocess.CompletedProcess:
    proc = subprocess.run(_snakemake_cmd(work, *extra, target=target), env=_env(), capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _workdir(tmp_path_factory, name: str, config: dict = CONFIG) -> Path:
    work = tmp_path_factory.mktemp(name)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    return work


def _start_and_kill_when(work: Path, started: str, whole_group: bool, target: str = TARGET) -> None:
    """Start the run; once the file ``started`` exists (a job is under way), kill -9 Snakemake (and, if asked,
    its jobs)."""
    proc = subprocess.Popen(_snakemake_cmd(work, target=target), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not (work / started).exists():
            assert proc.poll() is None, f"the run ended before {started} was written"
            assert time.monotonic() < deadline, f"{started} was never written"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):  # (already gone if an assertion above fired)
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def _start_and_kill_during_training(work: Path, whole_group: bool) -> None:
    """Start the run; once training has finished an epoch, kill -9 Snakemake (and, if asked, its jobs)."""
    _start_and_kill_when(work, PARTIAL, whole_group)


def _recover_and_rerun(work: Path, target: str = TARGET) -> subprocess.CompletedProcess:
    """What `make run` does after a crash: stop leftover jobs, unlock, rerun incomplete jobs."""
    recovery = subprocess.run([sys.executable, "-m", "nnstructure.recovery", str(work)], capture_output=True, text=True,
                              env=_env(), timeout=120)
    assert recovery.returncode == 0, f"no stale lock found: {recovery.stderr}"
    _run(work, "--unlock", target=None)
    return _run(work, "--rerun-incomplete", target=target)


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


# --- Chapter 4: kill -9 during the lesions ------------------------------------------------------

CH4 = "drill-ch4"
CH4_CONFIG = {
    "preset": CH4,
    "device": "cpu",
    "datasets": {"lines": {"n_train": 1000, "n_test": 1000}},
    "train": {"epochs": 2, "prune_epochs": 0, "batch_size": 64, "widths": [64, 64]},
    "networks": {"mlp-lines": {"arch": "mlp", "dataset": "lines", "seeds": [0], "conditions": {"none": {}}}},
    "specialization": {"k": 4, "n_random": 9, "partitionings": ["weight-network"], "proxies": ["lesion"],
                       "networks": {"mlp-lines": {"phases": ["unpruned"]}}},
}
CH4_TARGET = f"results/{CH4}/tables/specialization.parquet"
CH4_CELL = "mlp-lines/none/seed0/unpruned-weight-network-k4"
LESION_LOG = f"results/{CH4}/logs/lesion/{CH4_CELL}.log"  # written from the lesion job's start


@pytest.mark.slow
def test_killed_node_during_lesions_reruns_them_to_identical_results(tmp_path_factory):
    reference = _workdir(tmp_path_factory, "ch4-uninterrupted", CH4_CONFIG)
    _run(reference, target=CH4_TARGET)
    work = _workdir(tmp_path_factory, "ch4-killed", CH4_CONFIG)
    _start_and_kill_when(work, LESION_LOG, whole_group=True, target=CH4_TARGET)
    lesions = list((work / "results" / CH4 / "specialization").rglob("*-lesion.parquet"))
    assert not lesions, f"the lesion job had finished before the kill: {lesions}"
    _recover_and_rerun(work, target=CH4_TARGET)
    counts = compare_runs(reference / "results" / CH4, work / "results" / CH4)
    assert counts["bytes"] > 0
    assert list((work / "results" / CH4 / "specialization").rglob("*-lesion.parquet"))


# --- Chapter 5: kill -9 during a reward net's training -------------------------------------------

CH5 = "drill-ch5"
CH5_CONFIG = {
    "preset": CH5,
    "device": "cpu",
    "transitions": {"coinrun": {"game": "coinrun", "episodes_per_shard": 6, "shards": 1, "test_fraction": 0.2}},
    "networks": {"coinrun-reward": {"kind": "reward", "transitions": "coinrun", "seeds": [0],
                                    "conditions": {"short": {"epochs": 4}},
                                    "train": {"width_multiplier": 0.03125, "batch_size": 32}}},
}
CH5_NET = f"results/{CH5}/networks/coinrun-reward/short/seed0"
CH5_TARGET = f"{CH5_NET}/reward-row.parquet"


@pytest.mark.slow
def test_killed_node_during_reward_net_training_resumes_to_identical_results(tmp_path_factory):
    reference = _workdir(tmp_path_factory, "ch5-uninterrupted", CH5_CONFIG)
    _run(reference, target=CH5_TARGET)
    work = _workdir(tmp_path_factory, "ch5-killed", CH5_CONFIG)
    _start_and_kill_when(work, f"{CH5_NET}/reward.pt.partial", whole_group=True, target=CH5_TARGET)
    assert not (work / CH5_NET / "reward.pt").exists(), "training had finished before the kill"
    _recover_and_rerun(work, target=CH5_TARGET)
    log = (work / "results" / CH5 / "logs" / "reward_net" / "coinrun-reward" / "short" / "seed0.log").read_text()
    assert "resuming from" in log and "of 4" in log, log[-2000:]
    counts = compare_runs(reference / "results" / CH5, work / "results" / CH5)
    assert counts["bytes"] > 0
