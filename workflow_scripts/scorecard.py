"""Snakemake entry point: every chapter's scorecard in one table and one Markdown document, and the index of
the thesis's tables and figures (where this run has each one, or why it is not there)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

import pandas as pd  # noqa: E402

from nnstructure.io import read_parquet, write_parquet, write_text  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.report.engine import combined_scorecard_markdown  # noqa: E402
from nnstructure.report.index import index_markdown, shipped_producers, status_counts, thesis_index  # noqa: E402
from nnstructure.report.scorecard import coverage_notes  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    cards = [read_parquet(path) for path in sm.input.cards]
    combined = pd.concat(cards, ignore_index=True)
    write_parquet(combined, sm.output.table)
    write_text(combined_scorecard_markdown(cards, notes=coverage_notes(combined)), sm.output.markdown)
    print(f"{sum(len(c) for c in cards)} comparisons from {len(cards)} chapter scorecard(s)")
    run_dir = Path(sm.output.index).parent.parent  # <results_dir>/<preset>
    index = thesis_index(sm.config, run_dir, shipped_producers(Path(sm.scriptdir).parent))
    write_text(index_markdown(index, sm.config["preset"]), sm.output.index)
    print("thesis tables and figures:", status_counts(index))
