"""Recover a workflow folder after Snakemake was killed (kill -9, a crash, a lost terminal).

A killed Snakemake leaves its lock (``.snakemake/locks``) and its running jobs,
which carry on as orphans. ``python -m nnstructure.recovery [FOLDER]`` (what
``make run`` does first) finds out whether that happened: if no Snakemake
process is running in the folder but a lock is there, the lock is stale; the
orphaned jobs of the dead run (processes whose working directory is the folder
and that run a Snakemake job script) are stopped, so that the rerun (with
``--rerun-incomplete``) does not race them, and the exit code tells the caller
to unlock. Linux only (it reads ``/proc``); elsewhere it reports nothing.

Exit codes: 0 = a stale lock was found (unlock, then rerun), 1 = nothing to do
(no lock), 3 = a live Snakemake is working in the folder: it says so, and that
``--unlock`` must not be used while it runs (Snakemake's own lock error suggests it).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path


def _processes():
    """(pid, cwd, argv) of every process we may inspect."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, PermissionError):
            continue
        yield int(entry.name), cwd, [a.decode(errors="replace") for a in argv if a]


def _is_snakemake(argv: list[str]) -> bool:
    return any(Path(a).name == "snakemake" for a in argv[:3]) or (len(argv) > 2 and argv[1:3] == ["-m", "snakemake"])


def live_snakemake(folder: str | os.PathLike) -> list[int]:
    """PIDs of Snakemake processes working in ``folder``."""
    folder = os.path.realpath(folder)
    return [pid for pid, cwd, argv in _processes() if os.path.realpath(cwd) == folder and _is_snakemake(argv)]


def orphan_jobs(folder: str | os.PathLike) -> list[int]:
    """PIDs of job processes (Snakemake job scripts) running in ``folder``."""
    folder = os.path.realpath(folder)
    return [pid for pid, cwd, argv in _processes()
            if os.path.realpath(cwd) == folder and any(".snakemake/scripts/" in a for a in argv)]


def stale_lock(folder: str | os.PathLike) -> bool:
    locks = Path(folder) / ".snakemake" / "locks"
    return locks.is_dir() and any(locks.iterdir()) and not live_snakemake(folder)


#: A temporary file of :func:`nnstructure.io.atomic_path` (``.<name>.<8 random characters>.tmp<suffix>``).
ATOMIC_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")
_NOT_RESULTS = {".snakemake", ".git", ".venv"}


def stale_temporary_files(folders) -> list[Path]:
    """The atomic writers' temporary files under ``folders`` (Snakemake's, git's and the venv's folders left out).

    A writer killed with SIGKILL (or SIGTERM, which ends Python without unwinding) cannot remove its
    temporary file; once no run is alive in the folder, every such file is stale.
    """
    found = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in _NOT_RESULTS]
            found += [Path(root) / name for name in files if ATOMIC_TEMPORARY.match(name)]
    return sorted(found)


def recover(folder: str | os.PathLike, wait: float = 10.0, results: list[str | os.PathLike] = ()) -> list[str]:
    """If ``folder`` has a stale lock, stop the dead run's orphaned jobs and delete the temporary files their
    interrupted writes left in ``folder`` and ``results`` (results folders elsewhere); return what was done
    (empty: nothing)."""
    if not stale_lock(folder):
        return []
    done = [f"nnstructure: found a stale Snakemake lock in {os.path.realpath(folder)}/.snakemake/locks "
            "(a run was killed)"]
    orphans = orphan_jobs(folder)
    if orphans:
        done.append(f"nnstructure: stopping {len(orphans)} job(s) the killed run left running (PIDs {orphans})")
    for pid in orphans:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    while orphans and time.monotonic() < deadline:
        orphans = [pid for pid in orphans if Path(f"/proc/{pid}").exists()]
        time.sleep(0.2)
    for pid in orphans:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    leftovers = stale_temporary_files([folder, *results])
    for path in leftovers:
        path.unlink(missing_ok=True)
    if leftovers:
        done.append(f"nnstructure: deleted {len(leftovers)} temporary file(s) of interrupted writes")
    done.append("nnstructure: unlocking; the rerun redoes the killed run's incomplete jobs (--rerun-incomplete)")
    return done


def main(argv: list[str] | None = None) -> int:
    """``python -m nnstructure.recovery [FOLDER [RESULTS...]]``: FOLDER holds the lock; RESULTS are results
    folders outside it whose interrupted writes are cleaned too."""
    argv = sys.argv[1:] if argv is None else argv
    folder = argv[0] if argv else "."
    live = live_snakemake(folder)
    if live:
        print(f"nnstructure: another run is working in {os.path.realpath(folder)} (Snakemake PID(s) {live}); wait for "
              "it to finish or stop it first. Do not use --unlock while it runs: both runs would write the same files.",
              file=sys.stderr)
        return 3
    messages = recover(folder, results=argv[1:])
    for line in messages:
        print(line, file=sys.stderr)
    return 0 if messages else 1


if __name__ == "__main__":
    sys.exit(main())
