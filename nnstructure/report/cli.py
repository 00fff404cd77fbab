"""``nnstructure report-tables`` and ``report-chapter``: thesis-style tables, scorecards and figures from result tables.

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

    nnstructure report-chapter --chapter {ch4,ch5,ch5_part2} [--tables DIR] [--input NAME=PATH ...] --out-dir DIR

writes one chapter's ``DIR/tables/*.{parquet,md}``, ``DIR/figures/*.png`` and ``DIR/scorecard.{parquet,md}``
through :func:`nnstructure.report.engine.write_chapter_report` (what the workflow's ``report_ch4``,
``report_ch5`` and ``report_ch5_part2`` rules run). The chapter's input tables are the Parquet files of
``--tables`` by name (``<name>.parquet``: the workflow's ``tables/`` folder) and the ``--input`` files (one
name given several files gets them concatenated, as the workflow does).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from nnstructure.io import read_parquet, write_parquet, write_text

def write_report(rows: pd.DataFrame, out_dir: str | os.PathLike, shuffles: pd.DataFrame | None = None,
                 random_init: pd.DataFrame | None = None, settings_note: str | None = None,
                 preset: str | None = None, datasets: list[str | os.PathLike] | None = None) -> dict[str, Path]:
    """Write every chapter-3 report artifact for ``rows`` into ``out_dir``; return {name: path} of what was written.

    The tables, figures and generic scorecard come from the report engine
    (:mod:`nnstructure.report.engine` with :mod:`nnstructure.report.ch3`); this
    adds the detailed chapter-3 scorecard (``scorecard.md``) and the
    random-initialisation scorecard. ``random_init`` rows (if given) join
    ``rows`` as ``kind == "random_init"``. ``preset``: the run's preset, named in the thesis items' captions;
    ``datasets``: dataset files (``<name>.npz``) the networks learnt from, for Figures 3.4 and 3.14.
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
    if preset:
        inputs["run"] = pd.DataFrame([{"preset": preset}])
    if datasets:
        inputs["dataset_paths"] = pd.DataFrame({"path": [str(d) for d in datasets]})
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
                           settings_note=args.settings_note, preset=args.preset, datasets=args.datasets)
    for path in written.values():
        print(path)
    return 0


#: The chapters ``report-chapter`` writes (chapter 3 has ``report-tables``).
REPORT_CHAPTERS: tuple[str, ...] = ("ch4", "ch5", "ch5_part2")


#: Chapter inputs named ``*<PATH_INPUTS>`` are files or folders the chapter module reads itself (Figures 5.1,
#: 5.2, the edited transitions' figures): given as a table of their ``path``, not read as tables.
PATH_INPUTS = "_paths"


def read_chapter_inputs(files: dict[str, list[str | os.PathLike]]) -> dict[str, pd.DataFrame]:
    """A chapter's input tables by name: each name's Parquet files concatenated (none: an empty table); a name
    ending in ``_paths`` gets the table of its files' ``path``."""
    inputs = {}
    for name, paths in files.items():
        if name.endswith(PATH_INPUTS):
            inputs[name] = pd.DataFrame({"path": [str(path) for path in paths]})
            continue
        frames = [read_parquet(path) for path in paths]
        inputs[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return inputs


def _input_files(tables: str | None, given: list[str]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    if tables:
        folder = Path(tables)
        if not folder.is_dir():
            raise FileNotFoundError(f"--tables {tables}: no such folder (the workflow's <results>/<preset>/tables)")
        for path in sorted(folder.glob("*.parquet")):
            files[path.stem] = [str(path)]
    named: dict[str, list[str]] = {}
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--input {item!r}: give NAME=PATH (e.g. probes=tables/probes.parquet)")
        named.setdefault(name, []).append(path)
    files.update(named)  # --input replaces a table of the same name from --tables
    return files


def _report_chapter(args: argparse.Namespace) -> int:
    from nnstructure.report.engine import write_chapter_report

    files = _input_files(args.tables, args.input or [])
    if not files:
        raise ValueError("no input tables: give --tables DIR and/or --input NAME=PATH")
    written = write_chapter_report(args.chapter, read_chapter_inputs(files), args.out_dir)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report-tables",
        help="thesis-style clusterability tables, the ours-vs-thesis scorecard and chapter-3 figures",
        description=("Chapter 3: thesis-style clusterability tables, the ours-vs-thesis scorecard and figures from "
                     "result tables. Writes DIR/tables/table_clusterability.{parquet,md}, one thesis-style table per "
                     "experiment, DIR/scorecard.{parquet,md} and DIR/figures/*.png; random-init n-cuts come from "
                     "--random-init or from the --rows rows whose kind is random_init."),
    )
    p.add_argument("--rows", required=True, help="per-network clusterability rows (Parquet)")
    p.add_argument("--shuffles", help="per-shuffle n-cuts (Parquet); with layer and nonzero shuffles of a network, fig_3_7.png")
    p.add_argument("--random-init", help="random-init n-cuts (Parquet: arch, dataset, seed, ncut, k)")
    p.add_argument("--settings-note", help="one sentence on the preset/settings, quoted in the scorecard header")
    p.add_argument("--preset", help="the run's preset, named in the captions of the thesis tables and figures")
    p.add_argument("--datasets", nargs="+", metavar="NPZ",
                   help="dataset files the networks learnt from (nnstructure dataset's <name>.npz); those of "
                        "'halves' and 'stack' datasets give Figures 3.4 and 3.14")
    p.add_argument("--out-dir", required=True, help="folder for the tables, scorecard and figures")
    p.set_defaults(func=_report_tables)

    p = subparsers.add_parser(
        "report-chapter",
        help="one chapter's thesis-style tables, figures and scorecard (chapters 4 and 5; chapter 3: report-tables)",
        description=("One chapter's thesis-style tables, figures and ours-vs-thesis scorecard through the report "
                     "engine, as the workflow's report_ch4, report_ch5 and report_ch5_part2 rules write them: "
                     "DIR/tables/*.{parquet,md}, DIR/figures/*.png, DIR/scorecard.{parquet,md}."),
    )
    p.add_argument("--chapter", required=True, choices=REPORT_CHAPTERS,
                   help="which chapter's report: ch4 (specialization), ch5 (reward nets) or ch5_part2 (probes, "
                        "adversarial training, dots)")
    p.add_argument("--tables", metavar="DIR",
                   help="folder of the aggregated input tables, each read as its file name's stem "
                        "(<results>/<preset>/tables in the workflow)")
    p.add_argument("--input", action="append", metavar="NAME=PATH",
                   help="one input table by name (repeatable; several files of one name are concatenated; "
                        "replaces a --tables table of that name)")
    p.add_argument("--out-dir", required=True, help="folder for the tables, figures and scorecard")
    p.set_defaults(func=_report_chapter)
