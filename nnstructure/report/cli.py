"""``nnstructure report-tables``: thesis-style tables, the scorecard and figures from result tables.

    nnstructure report-tables --rows clusterability.parquet [--shuffles shuffles.parquet]
        [--random-init random_init.parquet] [--settings-note TEXT] --out-dir DIR

writes ``DIR/table_clusterability.{parquet,md}``, ``DIR/scorecard.{parquet,md}``,
``DIR/fig_ncut_vs_shuffles.png``, and, when shuffles are given,
``DIR/fig_shuffle_distributions.png``; when random-init n-cuts are available,
``DIR/fig_random_init.png`` and ``DIR/scorecard_random_init.parquet``.
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
from nnstructure.report.figures import plot_ncut_vs_shuffles, plot_random_init, plot_shuffle_distributions
from nnstructure.report.reference import load_random_init_ranges, load_thesis_reference
from nnstructure.report.scorecard import random_init_scorecard, scorecard, scorecard_markdown
from nnstructure.report.tables import summarize_clusterability, to_markdown

RANDOM_INIT_KIND = "random_init"


def split_random_init(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``rows`` into (trained-network rows, random-init rows) by the ``kind`` column."""
    if "kind" not in rows.columns:
        return rows, rows.iloc[0:0]
    is_random = rows["kind"] == RANDOM_INIT_KIND
    return rows[~is_random].reset_index(drop=True), rows[is_random].reset_index(drop=True)


def clusterability_markdown(summary: pd.DataFrame) -> str:
    """The summary as one thesis-style table per experiment (or one table without that column)."""
    if summary.empty:
        return "# Clusterability\n\nNo trained-network rows.\n"
    if "experiment" not in summary.columns:
        return "# Clusterability\n\n" + to_markdown(summary)
    parts = ["# Clusterability", ""]
    for experiment, group in summary.groupby("experiment", sort=True):
        parts += [f"## {experiment}", "", experiment_markdown(experiment, group)]
    return "\n".join(parts)


def experiment_markdown(experiment: str, group: pd.DataFrame) -> str:
    """One experiment's summary cells as a thesis-style table with its caption."""
    first = group.iloc[0]
    caption = (f"Experiment {experiment}: {first['arch']} on {first['dataset']}, k = "
               f"{'/'.join(str(k) for k in sorted(group['k'].unique()))}. N-cut is mean ± s.d. over networks "
               "(ddof = 1); Dist. n-cuts is the mean over networks of each network's shuffle mean ± s.d.; "
               "Beat all shuffles counts networks whose n-cut is below all of their shuffles.")
    return to_markdown(group.drop(columns=["experiment"]), caption=caption)


def write_report(rows: pd.DataFrame, out_dir: str | os.PathLike, shuffles: pd.DataFrame | None = None,
                 random_init: pd.DataFrame | None = None, settings_note: str | None = None) -> dict[str, Path]:
    """Write every report artifact for ``rows`` into ``out_dir``; return {name: path} of what was written."""
    out = Path(out_dir)
    trained, random_rows = split_random_init(rows)
    if random_init is None and len(random_rows):
        random_init = random_rows
    written: dict[str, Path] = {}

    summary = summarize_clusterability(trained)
    written["table_parquet"] = out / "table_clusterability.parquet"
    write_parquet(summary, written["table_parquet"])
    written["table"] = out / "table_clusterability.md"
    write_text(clusterability_markdown(summary), written["table"])
    if "experiment" in summary.columns:  # one table per experiment, as the thesis's tables
        for experiment, group in summary.groupby("experiment", sort=True):
            written[f"table_{experiment}_parquet"] = out / "tables" / f"{experiment}.parquet"
            write_parquet(group.reset_index(drop=True), written[f"table_{experiment}_parquet"])
            written[f"table_{experiment}"] = out / "tables" / f"{experiment}.md"
            write_text(f"# {experiment}\n\n" + experiment_markdown(experiment, group) + "\n", written[f"table_{experiment}"])

    card = scorecard(summary, load_thesis_reference())
    random_card = None
    if random_init is not None and len(random_init):
        random_card = random_init_scorecard(random_init, load_random_init_ranges())
        written["random_init_scorecard"] = out / "scorecard_random_init.parquet"
        write_parquet(random_card, written["random_init_scorecard"])
    written["scorecard_parquet"] = out / "scorecard.parquet"
    write_parquet(card, written["scorecard_parquet"])
    written["scorecard"] = out / "scorecard.md"
    write_text(scorecard_markdown(card, random_card, settings_note), written["scorecard"])

    layer = trained[trained["shuffle"] == "layer"] if "shuffle" in trained.columns else trained
    written["fig_ncut_vs_shuffles"] = out / "fig_ncut_vs_shuffles.png"
    plot_ncut_vs_shuffles(layer, written["fig_ncut_vs_shuffles"])
    if shuffles is not None:
        written["fig_shuffle_distributions"] = out / "fig_shuffle_distributions.png"
        plot_shuffle_distributions(shuffles, trained, written["fig_shuffle_distributions"])
    if random_init is not None and len(random_init):
        written["fig_random_init"] = out / "fig_random_init.png"
        plot_random_init(random_init, written["fig_random_init"], load_random_init_ranges())
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
    p.add_argument("--shuffles", help="per-shuffle n-cuts (Parquet); enables fig_shuffle_distributions.png")
    p.add_argument("--random-init", help="random-init n-cuts (Parquet: arch, dataset, seed, ncut, k)")
    p.add_argument("--settings-note", help="one sentence on the preset/settings, quoted in the scorecard header")
    p.add_argument("--out-dir", required=True, help="folder for the tables, scorecard and figures")
    p.set_defaults(func=_report_tables)
