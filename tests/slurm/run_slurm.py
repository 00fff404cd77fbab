#!/usr/bin/env python3
"""`make test-slurm`: the workflow through profiles/slurm on a real one-node SLURM.

What it does, in order:

1. Skips (prints ``SKIPPED: <reason>``, exits 0) unless it runs as root on
   Debian/Ubuntu with apt-get: it installs system packages and starts daemons.
2. Installs ``slurm-wlm`` (slurmctld, slurmd, the client commands) and
   ``munge`` with apt-get if they are missing.
3. Writes a private cluster into a temporary folder: a munge key, a
   ``slurm.conf`` (single node, no accounting, no cgroups, free TCP ports,
   MinJobAge 600 so that ``squeue`` still lists finished jobs), spool, state
   and log folders, with /etc/slurm/slurm.conf a symlink to that config while
   the test runs (the jobs' ``srun`` reads the default path). A machine that
   already has /etc/slurm/slurm.conf is skipped; a munged already running is
   left alone (the test's own munged has its own socket and key).
4. Starts ``munged`` (as the munge user), ``slurmctld`` and ``slurmd``
   directly (no systemd) and waits until the node is idle.
5. Runs ``tests/slurm/config.yaml`` twice, locally (``--cores 2``) and through
   ``--profile profiles/slurm --workflow-profile profiles/slurm-test``, each in
   its own working folder, and times both.
6. Checks that every job of the SLURM run was a SLURM job that completed
   (``squeue --states=all`` lists one COMPLETED job per workflow job, named by
   the plugin's rule/wildcards comment, each with its kept SLURM log), and that
   every artifact equals the local run's: byte-for-byte, except Parquet tables
   with a wall-clock ``seconds`` column (training metrics), compared as values
   without it; the logs/ and benchmarks/ folders (timings) are not compared.
7. Cancels leftover jobs and stops the three daemons by their PID files
   whatever happens (also on Ctrl-C / SIGTERM). The temporary folder is
   removed after a pass and kept (path printed) after a failure.

Options: ``--keep`` keeps the temporary folder; ``--timeout S`` bounds each
workflow run (default 900 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "slurm" / "config.yaml"
PACKAGES = ["slurm-wlm", "munge"]
COMMANDS = ["slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "munged", "munge"]
# Where SLURM commands look for their config when SLURM_CONF is unset. The jobs'
# `srun` needs it: snakemake-executor-plugin-slurm-jobstep removes every SLURM_*
# variable but the job's identity (SLURM_CONF included) before calling srun.
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
TEMP_PREFIX = "nnstructure-slurm-"


class TestFailure(Exception):
    """A check failed; the message says which and why."""


def log(msg: str) -> None:
    print(f"[test-slurm] {msg}", flush=True)


def skip_reason() -> str | None:
    if platform.system() != "Linux":
        return f"needs Linux to run SLURM daemons (this is {platform.system()})"
    if os.geteuid() != 0:
        return "needs root to install slurm-wlm/munge and start their daemons (run `sudo make test-slurm`)"
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        if all(shutil.which(c) for c in COMMANDS):
            return None  # not Debian, but SLURM and munge are already installed
        return "installs SLURM with apt-get, which needs Debian or Ubuntu"
    if (DEFAULT_CONF.exists() or DEFAULT_CONF.is_symlink()) and not _stale_link(DEFAULT_CONF):
        return (f"{DEFAULT_CONF} exists, so this machine belongs to a SLURM cluster; the test builds its own "
                "one-node cluster only on a machine without one")
    return None


def _stale_link(path: Path) -> bool:
    """``path`` is a symlink into a test folder left by an earlier run that was killed."""
    return path.is_symlink() and os.readlink(path).startswith(os.path.join(tempfile.gettempdir(), TEMP_PREFIX))


def run(cmd: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise TestFailure(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


def ensure_packages() -> None:
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if not missing:
        return
    log(f"installing {' '.join(PACKAGES)} with apt-get (missing: {', '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    t0 = time.monotonic()
    run(["apt-get", "update", "-qq"], env=env, timeout=600)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], env=env, timeout=900)
    log(f"installed in {time.monotonic() - t0:.0f} s")
    still = [c for c in COMMANDS if shutil.which(c) is None]
    if still:
        raise TestFailure(f"after installing {PACKAGES} these commands are still missing: {still}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mem_available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise TestFailure("cannot read MemAvailable from /proc/meminfo")


class Cluster:
    """munged + slurmctld + slurmd with all their files under ``base``; stopped by PID file."""

    def __init__(self, base: Path):
        self.base = base
        self.munge_dir = base / "munge"
        self.conf = base / "slurm" / "slurm.conf"
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.pidfiles = {
            "slurmd": base / "slurm" / "slurmd.pid",
            "slurmctld": base / "slurm" / "slurmctld.pid",
            "munged": self.munge_dir / "munged.pid",
        }
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- configuration ----------------------------------------------------
    def write(self, min_mem_mb: int) -> None:
        munge = pwd.getpwnam("munge")
        self.munge_dir.mkdir()
        self.munge_dir.chmod(0o755)  # munged wants its socket folder reachable by all
        key = self.munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for path in (self.munge_dir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        for sub in ("state", "spool", "log"):
            (self.base / "slurm" / sub).mkdir(parents=True)
        real_memory = int(mem_available_mb() * 0.8)
        if real_memory < min_mem_mb:
            raise TestFailure(f"only {real_memory} MB of memory to give the test node; its jobs ask for up to {min_mem_mb} MB")
        s = self.base / "slurm"
        self.conf.write_text(
            "\n".join([
                "# one-node test cluster of `make test-slurm`",
                "ClusterName=nnstructure-test",
                f"SlurmctldHost={self.node}(127.0.0.1)",
                f"SlurmctldPort={free_port()}",
                f"SlurmdPort={free_port()}",
                "SlurmUser=root",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                f"AuthInfo=socket={self.munge_dir / 'munge.socket'}",
                f"StateSaveLocation={s / 'state'}",
                f"SlurmdSpoolDir={s / 'spool'}",
                f"SlurmctldPidFile={self.pidfiles['slurmctld']}",
                f"SlurmdPidFile={self.pidfiles['slurmd']}",
                f"SlurmctldLogFile={s / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={s / 'log' / 'slurmd.log'}",
                f"PlugStackConfig={s / 'plugstack.conf'}",
                # No systemd, no cgroups, no accounting daemon:
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core_Memory",
                "MpiDefault=none",
                "MailProg=/bin/true",
                "ReturnToService=2",
                # Finished jobs stay visible to squeue for 10 minutes: the plugin's squeue
                # status check needs MinJobAge >= 3 x slurm-init-seconds-before-status-checks.
                "MinJobAge=600",
                "InactiveLimit=0",
                "KillWait=5",
                f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={real_memory} State=UNKNOWN",
                "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                "",
            ])
        )
        (s / "plugstack.conf").write_text("")
        # The config stays in the test folder; the default path links to it while the test runs.
        DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
        if _stale_link(DEFAULT_CONF):
            DEFAULT_CONF.unlink()
        DEFAULT_CONF.symlink_to(self.conf)

    # -- daemons ----------------------------------------------------------
    def start(self) -> None:
        sock = self.munge_dir / "munge.socket"
        run([
            "runuser", "-u", "munge", "--", "munged", f"--socket={sock}", f"--key-file={self.munge_dir / 'munge.key'}",
            f"--pid-file={self.pidfiles['munged']}", f"--log-file={self.munge_dir / 'munged.log'}",
            f"--seed-file={self.munge_dir / 'munged.seed'}",
        ], timeout=30)
        self._wait(lambda: run(["sh", "-c", f"munge -n -S {sock} | unmunge -S {sock}"], check=False).returncode == 0,
                   "munged to answer", self.munge_dir / "munged.log")
        run(["slurmctld", "-f", str(self.conf)], env=self.env, timeout=30)
        self._wait(lambda: run(["sinfo", "-h"], check=False, env=self.env).returncode == 0,
                   "slurmctld to answer", self.base / "slurm" / "log" / "slurmctld.log")
        run(["slurmd", "-f", str(self.conf), "-N", self.node], env=self.env, timeout=30)
        self._wait(lambda: run(["sinfo", "-h", "-o", "%T"], check=False, env=self.env).stdout.strip() == "idle",
                   "the node to become idle", self.base / "slurm" / "log" / "slurmd.log")

    def _wait(self, ready, what: str, logfile: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.5)
        tail = logfile.read_text()[-3000:] if logfile.exists() else "(no log)"
        raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}; {logfile}:\n{tail}")

    def stop(self) -> None:
        """Cancel leftover jobs, then stop slurmd, slurmctld and munged by their PID files."""
        if self.conf.exists() and self.pidfiles["slurmctld"].exists():
            ids = run(["squeue", "-h", "-o", "%i", "--states=PENDING,RUNNING,SUSPENDED,COMPLETING"],
                      check=False, env=self.env, timeout=30).stdout.split()
            if ids:
                log(f"cancelling {len(ids)} leftover SLURM jobs")
                run(["scancel", *ids], check=False, env=self.env, timeout=30)
                time.sleep(2)
        for name, pidfile in self.pidfiles.items():
            stop_pid_file(name, pidfile)
        if DEFAULT_CONF.is_symlink() and os.readlink(DEFAULT_CONF) == str(self.conf):
            DEFAULT_CONF.unlink()


def stop_pid_file(name: str, pidfile: Path, grace: float = 15) -> None:
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log(f"stopped {name} (pid {pid})")
            return
        time.sleep(0.2)
    log(f"{name} (pid {pid}) ignored SIGTERM for {grace:.0f} s; killing it")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# -- workflow runs ------------------------------------------------------------
# Pending reasons SLURM gives a job that can never start on this cluster (it asks for more
# CPUs, memory or time than the partition or node has): fail at once instead of waiting.
IMPOSSIBLE_REASONS = ("PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints",
                      "ReqNodeNotAvail", "InvalidAccount", "InvalidQOS")


def impossible_jobs(env: dict) -> list[str]:
    """Pending jobs that can never start, as 'id (reason; cpus, memory)'."""
    out = subprocess.run(["squeue", "-h", "--states=PENDING", "-o", "%i|%r|%C|%m"], env=env, capture_output=True,
                         text=True, timeout=30).stdout
    found = []
    for line in out.splitlines():
        job, reason, cpus, mem = (line.split("|") + ["", "", ""])[:4]
        if reason.strip() in IMPOSSIBLE_REASONS:
            found.append(f"{job.strip()} ({reason.strip()}; asks for {cpus.strip()} CPUs, {mem.strip()} memory)")
    return found


def snakemake(args: list[str], env: dict, timeout: float, logfile: Path, slurm_env: dict | None = None) -> tuple[float, str]:
    """Run Snakemake from the repository root in its own process group; return (seconds, output).

    With ``slurm_env``, SLURM's queue is watched: a job that can never start fails the run at once.
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile", str(CONFIG), *args]
    log("$ " + " ".join(cmd))
    t0 = time.monotonic()
    with open(logfile, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while (rc := proc.poll()) is None:
                if time.monotonic() > deadline:
                    raise TestFailure(f"snakemake did not finish within {timeout:.0f} s; its output: {logfile}")
                stuck = impossible_jobs(slurm_env) if slurm_env else []
                if stuck:
                    raise TestFailure("SLURM jobs that can never start on this cluster: " + ", ".join(stuck)
                                      + "; the profile must cap what one group submission asks for (cores, resources)")
                time.sleep(2)
        except BaseException:
            # Snakemake with a hung status check ignores SIGTERM: kill the whole group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    seconds = time.monotonic() - t0
    output = logfile.read_text()
    if rc != 0:
        raise TestFailure(f"snakemake failed ({rc}) after {seconds:.0f} s; last output ({logfile}):\n{output[-4000:]}")
    return seconds, output


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from the 'Job stats' table Snakemake prints when it starts."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("job ") and "count" in line), None)
    if start is None:
        raise TestFailure("no 'Job stats' table in the Snakemake output")
    counts = {}
    for line in lines[start + 2:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m or m.group(1) == "total":
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def slurm_jobs(env: dict) -> list[dict]:
    """Every job slurmctld still knows (MinJobAge keeps finished ones for 10 minutes)."""
    out = run(["squeue", "-h", "--states=all", "-o", "%i|%T|%k|%S|%e"], env=env, timeout=30).stdout
    jobs = []
    for line in out.splitlines():
        jobid, state, comment, start, end = line.split("|", 4)
        jobs.append({"id": jobid, "state": state, "comment": comment, "start": start, "end": end})
    return jobs


def job_seconds(jobs: list[dict]) -> float:
    """Total start-to-end time of the jobs (squeue's %S and %e, ISO timestamps)."""
    from datetime import datetime

    return sum((datetime.fromisoformat(j["end"]) - datetime.fromisoformat(j["start"])).total_seconds() for j in jobs)


def check_all_jobs_ran_on_slurm(expected: dict[str, int], jobs: list[dict], logdir: Path, slurm_out: str) -> int:
    """Every workflow job ran inside a completed SLURM job with a kept log; returns the number of submissions.

    profiles/slurm groups each network's analysis jobs into one submission; other
    jobs are submitted alone. Inside a SLURM job the job step runs each workflow
    job as a ``localrule <rule>:``, so the kept SLURM logs must name every rule
    exactly as often as the local run's plan counts it (SLURM's job comment is
    cut short for a large group, so it cannot say this). There must also be
    exactly one SLURM job per submission Snakemake reports.
    """
    problems = []
    ran: dict[str, int] = {}
    for job in jobs:
        if not job["comment"].startswith("rule_"):
            problems.append(f"job {job['id']} has no rule comment: {job['comment']!r}")
            continue
        if job["state"] != "COMPLETED":
            problems.append(f"SLURM job {job['id']} ({job['comment']}) ended {job['state']}")
        logs = list(logdir.rglob(f"{job['id']}.log"))
        if not logs or logs[0].stat().st_size == 0:
            problems.append(f"SLURM job {job['id']} ({job['comment']}) left no log in {logdir}")
            continue
        for rule in re.findall(r"^localrule (\w+):", logs[0].read_text(errors="replace"), flags=re.M):
            ran[rule] = ran.get(rule, 0) + 1
    submitted = {rule: n for rule, n in expected.items() if rule != "all"}  # `all` never leaves Snakemake
    if ran != submitted:
        problems.append(f"the SLURM jobs' logs ran {dict(sorted(ran.items()))}, the plan was {dict(sorted(submitted.items()))}")
    submissions = len(re.findall(r"has been submitted with SLURM jobid", slurm_out))
    if submissions != len(jobs):
        problems.append(f"Snakemake reported {submissions} submissions but SLURM knows {len(jobs)} jobs")
    if problems:
        raise TestFailure("not every job ran as a completed SLURM job:\n  " + "\n  ".join(problems))
    return len(jobs)


def compare_results(local: Path, slurm: Path) -> dict[str, int]:
    """Every artifact of the two runs is equal; returns how many were compared each way."""
    from nnstructure.compare_runs import RunsDiffer, compare_runs

    try:
        return compare_runs(local, slurm)
    except RunsDiffer as exc:
        raise TestFailure(f"SLURM results differ from the local run's: {exc}") from None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per workflow run")
    args = parser.parse_args(argv)

    reason = skip_reason()
    if reason:
        print(f"SKIPPED: test-slurm {reason}", flush=True)
        return 0
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        print("test-slurm: error: snakemake-executor-plugin-slurm is not installed in this Python "
              f"({sys.executable}); run `make install` (it is pinned in requirements.txt)", file=sys.stderr)
        return 1

    # SIGTERM (CI timeouts, kill) unwinds like Ctrl-C so the daemons are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    t_total = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    base.chmod(0o755)  # the munge user must reach its folder inside
    cluster = Cluster(base)
    ok = False
    try:
        ensure_packages()
        cluster.write(min_mem_mb=4000)  # the dataset rule asks for 4000 MB
        t0 = time.monotonic()
        cluster.start()
        log(f"one-node SLURM up in {time.monotonic() - t0:.1f} s ({cluster.node}, {cluster.cpus} CPUs, conf {cluster.conf})")

        env = {**cluster.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "NNSTRUCTURE_DEVICE": "cpu",
               # This checkout's package, also when .venv's editable install points at another one.
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        local_dir, slurm_dir, logdir = base / "local", base / "slurm-run", base / "slurm-logs"
        for d in (local_dir, slurm_dir):
            d.mkdir()
        local_s, local_out = snakemake(["--cores", "2", "--directory", str(local_dir)], env, args.timeout, base / "local.log")
        log(f"local run: {local_s:.1f} s")
        slurm_s, slurm_out = snakemake(
            ["--profile", "profiles/slurm", "--workflow-profile", "profiles/slurm-test",
             "--directory", str(slurm_dir), "--slurm-logdir", str(logdir)],
            env, args.timeout, base / "slurm.log", slurm_env=cluster.env,
        )
        log(f"SLURM run: {slurm_s:.1f} s")

        expected = job_counts(local_out)
        if job_counts(slurm_out) != expected:
            raise TestFailure(f"the SLURM run planned other jobs {job_counts(slurm_out)} than the local run {expected}")
        jobs = slurm_jobs(cluster.env)
        n_submissions = check_all_jobs_ran_on_slurm(expected, jobs, logdir, slurm_out)
        counts = compare_results(local_dir / "results", slurm_dir / "results")
        n_jobs = sum(n for rule, n in expected.items() if rule != "all")
        log(f"{n_jobs} workflow jobs ran in {n_submissions} SLURM jobs (each network's analyses grouped), all COMPLETED, "
            f"each with its SLURM log; mean time in SLURM {job_seconds(jobs) / len(jobs):.1f} s per submission")
        log(f"results identical: {counts['bytes']} files byte-for-byte, {counts['values']} Parquet tables by value "
            "(without their wall-clock timing column)")
        log(f"time: local {local_s:.1f} s, SLURM {slurm_s:.1f} s ({(slurm_s - local_s) / n_jobs:+.1f} s per job); "
            f"whole test {time.monotonic() - t_total:.0f} s")
        ok = True
    except TestFailure as exc:
        print(f"test-slurm: FAILED: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("test-slurm: interrupted", file=sys.stderr, flush=True)
    finally:
        cluster.stop()
        if ok and not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"kept {base} (slurm.conf, daemon logs, both runs' outputs and Snakemake logs)")
    if ok:
        print("PASSED: test-slurm", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
