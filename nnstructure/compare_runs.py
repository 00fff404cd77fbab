"""Are two workflow runs the same? Every artifact of one results folder against the other's.

Used by the reliability drills (a killed and resumed run against an uninterrupted
one) and the SLURM test (a cluster run against a local one), and by anyone who
wants to check that a rerun reproduced a result:

    python -m nnstructure.compare_runs results/default /elsewhere/results/default

Two versions of the code may make different sets of files (a new version adds a table);
``--common`` compares only the files both runs made and lists the others:

    python -m nnstructure.compare_runs --common before/default after/default

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


def compare_runs(a: str | Path, b: str | Path, common: bool = False) -> dict:
    """Raise :class:`RunsDiffer` unless the two folders hold the same artifacts; return counts
    ``{"bytes": identical files, "values": tables equal once timings are dropped}``.

    ``common``: compare only the files both folders hold; the counts then also give
    ``"only_a"`` and ``"only_b"``, the sorted relative paths made by one run only.
    """
    import pandas as pd

    a, b = Path(a), Path(b)
    for folder in (a, b):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a results folder (give the preset's folder, e.g. results/default)")
    files_a, files_b = _artifacts(a), _artifacts(b)
    if files_a != files_b and not common:
        raise RunsDiffer(f"the runs made different files: only in {a}: {sorted(map(str, files_a - files_b))}; "
                         f"only in {b}: {sorted(map(str, files_b - files_a))} (--common compares the files both made)")
    counts: dict = {"bytes": 0, "values": 0}
    if common:
        counts["only_a"] = sorted(map(str, files_a - files_b))
        counts["only_b"] = sorted(map(str, files_b - files_a))
    differ = []
    for rel in sorted(files_a & files_b):
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
    argv = list(sys.argv[1:] if argv is None else argv)
    common = "--common" in argv
    folders = [arg for arg in argv if arg != "--common"]
    if len(folders) != 2:
        print("usage: python -m nnstructure.compare_runs [--common] RESULTS_A RESULTS_B", file=sys.stderr)
        return 2
    try:
        counts = compare_runs(*folders, common=common)
    except (RunsDiffer, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"identical: {counts['bytes']} files byte for byte, {counts['values']} tables equal but for timings")
    for key, folder in (("only_a", folders[0]), ("only_b", folders[1])):
        if counts.get(key):
            print(f"made only in {folder} ({len(counts[key])}, not compared): " + ", ".join(counts[key]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
