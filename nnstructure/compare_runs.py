"""Are two workflow runs the same? Every artifact of one results folder against the other's.

Used by the reliability drills (a killed and resumed run against an uninterrupted
one) and the SLURM test (a cluster run against a local one), and by anyone who
wants to check that a rerun reproduced a result:

    python -m nnstructure.compare_runs results/default /elsewhere/results/default

Artifacts must be byte-identical, with two exceptions that hold timings by design:
the ``logs/`` and ``benchmarks/`` folders are skipped, and a Parquet table with a
timing column (the per-epoch ``seconds`` of training metrics) is compared by value
without that column.
"""

from __future__ import annotations

import sys
from pathlib import Path

TIMING_COLUMNS = frozenset({"seconds"})
SKIPPED_FOLDERS = frozenset({"logs", "benchmarks"})


class RunsDiffer(AssertionError):
    """Two results folders hold different artifacts."""


def _artifacts(base: Path) -> set[Path]:
    return {p.relative_to(base) for p in base.rglob("*")
            if p.is_file() and not SKIPPED_FOLDERS & set(p.relative_to(base).parts) and not p.name.endswith(".partial")}


def compare_runs(a: str | Path, b: str | Path) -> dict[str, int]:
    """Raise :class:`RunsDiffer` unless the two folders hold the same artifacts; return counts
    ``{"bytes": identical files, "values": tables equal once timings are dropped}``."""
    import pandas as pd

    a, b = Path(a), Path(b)
    files_a, files_b = _artifacts(a), _artifacts(b)
    if files_a != files_b:
        raise RunsDiffer(f"the runs made different files: only in {a}: {sorted(map(str, files_a - files_b))}; "
                         f"only in {b}: {sorted(map(str, files_b - files_a))}")
    counts = {"bytes": 0, "values": 0}
    differ = []
    for rel in sorted(files_a):
        x, y = a / rel, b / rel
        if x.read_bytes() == y.read_bytes():
            counts["bytes"] += 1
            continue
        if rel.suffix == ".parquet":
            dx, dy = pd.read_parquet(x), pd.read_parquet(y)
            timing = sorted(TIMING_COLUMNS & set(dx.columns))
            if timing and set(dx.columns) == set(dy.columns):
                try:
                    pd.testing.assert_frame_equal(dx.drop(columns=timing), dy.drop(columns=timing), check_exact=True)
                    counts["values"] += 1
                    continue
                except AssertionError as exc:
                    differ.append(f"{rel}: {exc}")
                    continue
        differ.append(f"{rel}: bytes differ")
    if differ:
        raise RunsDiffer(f"{len(differ)} artifact(s) differ between {a} and {b}:\n  " + "\n  ".join(differ))
    return counts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m nnstructure.compare_runs RESULTS_A RESULTS_B", file=sys.stderr)
        return 2
    try:
        counts = compare_runs(*argv)
    except RunsDiffer as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"identical: {counts['bytes']} files byte for byte, {counts['values']} tables equal but for timings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
