"""Snakemake entry point: chapter 3's thesis-style tables, figures and scorecards."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.io import read_parquet  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.report.cli import write_report  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    rows = read_parquet(sm.input.rows)
    shuffles = read_parquet(sm.input.shuffles)
    written = write_report(rows, Path(sm.output.scorecard).parent, shuffles=shuffles if len(shuffles) else None,
                           settings_note=sm.params.note, preset=sm.params.preset,
                           datasets=list(sm.input.datasets))
    missing = [name for name, path in sm.output.items() if not Path(path).exists()]
    if missing:
        raise RuntimeError(f"the report step did not write {missing}; the results table may be empty")
    for path in written.values():
        print(path)
