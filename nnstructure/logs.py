"""Send a step's output to its log file (the workflow gives every job one)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def log_to(path: str | os.PathLike | None) -> Iterator[None]:
    """Redirect stdout and stderr, at the file-descriptor level, to ``path`` for the block.

    File descriptors rather than ``sys.stdout`` so that output of C extensions
    and child processes lands in the log too. An exception raised in the block
    is written to the log before it propagates, so the log says why a job
    failed. ``path=None`` leaves the streams alone.
    """
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            import traceback

            traceback.print_exc()
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def last_error_line(log: str | os.PathLike) -> str | None:
    """The line of a job's log that says why it failed: the last line of its traceback (``Error: message``),
    else its last non-empty line; ``None`` for a missing or empty log."""
    try:
        lines = [line.strip() for line in Path(log).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    if not lines:
        return None
    errors = [line for line in lines if not line.startswith(("File ", "^", "~")) and ("Error" in line or "error" in line
                                                                                      or "Exception" in line)]
    return errors[-1] if errors else lines[-1]


def failed_jobs(main_log_text: str) -> list[tuple[str, list[str]]]:
    """(rule, job log paths) of every failed job in a Snakemake run log (its "Error in rule" blocks)."""
    import re

    failed: list[tuple[str, list[str]]] = []
    for line in main_log_text.splitlines():
        start = re.match(r"^Error in rule (\S+?):", line)
        if start:
            failed.append((start.group(1), []))
        elif failed and re.match(r"^\s+log: ", line):
            paths = line.split("log:", 1)[1].split("(check log", 1)[0]
            failed[-1][1].extend(p.strip() for p in paths.split(",") if p.strip())
    unique = {(rule, tuple(logs)): (rule, logs) for rule, logs in failed}  # Snakemake repeats a block in its summary
    return list(unique.values())


def report_failed_jobs(main_log, stream=None) -> int:
    """Print, for every failed job of a Snakemake run, its rule, its log and the line of the log that says why
    (Snakemake's own console line has only "message: None"); return how many were reported. ``main_log`` is the
    run's log file, or a list of them (what Snakemake's ``onerror`` gets)."""
    stream = stream or sys.stderr
    text = ""
    for path in [main_log] if isinstance(main_log, (str, os.PathLike)) else list(main_log or []):
        try:
            text += Path(path).read_text(errors="replace") + "\n"
        except OSError:
            continue
    jobs = failed_jobs(text)
    for rule, logs in jobs:
        for log in logs or [None]:
            why = last_error_line(log) if log else None
            print(f"nnstructure: {rule} failed: {why or 'no error line in its log'}" + (f"  (log: {log})" if log else ""),
                  file=stream)
    return len(jobs)
