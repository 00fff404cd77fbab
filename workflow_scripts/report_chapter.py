"""Snakemake entry point: one chapter's tables, figures and scorecard through the report engine.

The rule's named inputs are the chapter module's input tables (a list of files is concatenated).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

import pandas as pd  # noqa: E402

from nnstructure.io import read_parquet  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402
from nnstructure.report.engine import write_chapter_report  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    inputs = {}
    for name, files in sm.input.items():
        files = [files] if isinstance(files, str) else list(files)
        frames = [read_parquet(f) for f in files]
        inputs[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = Path(sm.output.scorecard).parent
    written = write_chapter_report(sm.params.chapter, inputs, out)
    for name, path in written.items():
        print(f"{name}: {path}")
