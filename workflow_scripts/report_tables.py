"""Snakemake entry point: thesis-style tables, scorecard and figures for a preset."""

from pathlib import Path

from nnstructure.io import read_parquet
from nnstructure.report.cli import write_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
rows = read_parquet(sm.input.rows)
shuffles = read_parquet(sm.input.shuffles)
written = write_report(
    rows,
    Path(sm.output.table).parent,
    shuffles=shuffles if len(shuffles) else None,
    settings_note=sm.params.note,
)
missing = [name for name, path in sm.output.items() if not Path(path).exists()]
if missing:
    raise RuntimeError(f"the report step did not write {missing}; the results table may be empty")
