"""``nnstructure report-tables``: thesis-style tables, the scorecard and figures from result tables.

    nnstructure report-tables --rows clusterability.parquet [--shuffles shuffles.parquet]
        [--random-init random_init.parquet] [--settings-note TEXT] --out-dir DIR

writes ``DIR/tables/table_clusterability.{parquet,md}`` (every cell), ``DIR/tables/<experiment>.{parquet,md}``
(one thesis-style table per experiment), ``DIR/scorecard.{parquet,md}``,
``DIR/figures/fig_ncut_vs_shuffles.png``, and, when some network has both layer and nonzero
shuffles, ``DIR/figures/fig_3_7.png`` (thesis Figure 3.7); when random-init n-cuts are available,
``DIR/figures/fig_random_init.png`` and ``DIR/scorecard_random_init.parquet``.
Random-init n-cuts come from ``--random-init`` or, failing that, from rows of
``--rows`` whose ``kind`` is ``random_init`` (those rows are then left out of the
clusterability table).  :func:`write_report` does the same from Python.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from nnstructure.io import read_parquet, write_parquet, write_text

def write_report(rows: pd.DataFrame, out_dir: str | os.PathLike, shuffles: pd.DataFrame | None = None,
                 random_init: pd.DataFrame | None = None, settings_note: str | None = None) -> dict[str, Path]:
    """Write every chapter-3 report artifact for ``rows`` into ``out_dir``; return {name: path} of what was written.

    The tables, figures and generic scorecard come from the report engine
    (:mod:`nnstructure.report.engine` with :mod:`nnstructure.report.ch3`); this
    adds the detailed chapter-3 scorecard (``scorecard.md``) and the
    random-initialisation scorecard. ``random_init`` rows (if given) join
    ``rows`` as ``kind == "random_init"``.
    """
    from nnstructure.report import ch3
    from nnstructure.report.engine import write_chapter_report
    from nnstructure.report.scorecard import scorecard_markdown

    out = Path(out_dir)
    if random_init is not None and len(random_init):
        rows = pd.concat([rows, random_init.assign(kind=ch3.RANDOM_INIT_KIND)], ignore_index=True)
    inputs = {"clusterability": rows}
    if shuffles is not None:
        inputs["shuffles"] = shuffles
    written = write_chapter_report("ch3", inputs, out)
    card, random_card = ch3.detailed_scorecards(inputs)
    if random_card is not None:
        written["random_init_scorecard"] = out / "scorecard_random_init.parquet"
        write_parquet(random_card, written["random_init_scorecard"])
    written["scorecard"] = out / "scorecard.md"
    write_text(scorecard_markdown(card, random_card, settings_note), written["scorecard"])
    return written


def _report_tables(args: argparse.Namespace) -> int:
    rows = read_parquet(args.rows)
    shuffles = read_parquet(args.shuffles) if args.shuffles else None
    random_init = read_parquet(args.random_init) if args.random_init else None
    written = write_report(rows, args.out_dir, shuffles=shuffles, random_init=random_init,
                           settings_note=args.settings_note)
    for path in written.values():
        print(path)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report-tables",
        help="thesis-style clusterability tables, the ours-vs-thesis scorecard and chapter-3 figures",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--rows", required=True, help="per-network clusterability rows (Parquet)")
    p.add_argument("--shuffles", help="per-shuffle n-cuts (Parquet); with layer and nonzero shuffles of a network, fig_3_7.png")
    p.add_argument("--random-init", help="random-init n-cuts (Parquet: arch, dataset, seed, ncut, k)")
    p.add_argument("--settings-note", help="one sentence on the preset/settings, quoted in the scorecard header")
    p.add_argument("--out-dir", required=True, help="folder for the tables, scorecard and figures")
    p.set_defaults(func=_report_tables)
