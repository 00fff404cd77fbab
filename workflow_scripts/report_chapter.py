"""Snakemake entry point: one chapter's tables, figures and scorecard through the report engine.

The rule's named inputs are the chapter module's input tables (a list of files is concatenated); an input
named ``*_paths`` (data folders, transition tables read by the module itself) is given as a table of its
files' ``path``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.report.cli import read_chapter_inputs  # noqa: E402
from nnstructure.report.engine import write_chapter_report  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    files = {name: [paths] if isinstance(paths, str) else list(paths) for name, paths in sm.input.items()}
    inputs = read_chapter_inputs(files)
    out = Path(sm.output.scorecard).parent
    written = write_chapter_report(sm.params.chapter, inputs, out)
    for name, path in written.items():
        print(f"{name}: {path}")
