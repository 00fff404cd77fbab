"""Chapter 3 (clusterability) for the report engine: thesis-style tables, figures, scorecard.

``inputs``: ``{"clusterability": <one row per network phase and clustering setting>,
"shuffles": <one row per shuffled network>}`` (the workflow's aggregated tables;
``shuffles`` may be absent). Random-init rows (``kind == "random_init"``) feed the
random-init figure and its scorecard instead of the tables.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from nnstructure.report.figures import figure_3_7_networks, plot_figure_3_7, plot_ncut_vs_shuffles, plot_random_init
from nnstructure.report.reference import load_random_init_ranges, parse_thesis_reference
from nnstructure.report.scorecard import random_init_scorecard
from nnstructure.report.scorecard import scorecard as detailed_scorecard
from nnstructure.report.tables import summarize_clusterability, to_markdown

CHAPTER = 3
REFERENCE_FILES = ("thesis_ch3.csv",)
RANDOM_INIT_KIND = "random_init"


def load_reference() -> pd.DataFrame:
    from nnstructure.report.reference import _read_package_csv

    return parse_thesis_reference(_read_package_csv(REFERENCE_FILES[0]))


def split_random_init(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``rows`` into (trained and pretrained network rows, random-init rows) by the ``kind`` column."""
    if "kind" not in rows.columns:
        return rows, rows.iloc[0:0]
    is_random = rows["kind"] == RANDOM_INIT_KIND
    return rows[~is_random].reset_index(drop=True), rows[is_random].reset_index(drop=True)


def _rows(inputs: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = inputs.get("clusterability")
    if rows is None:
        raise ValueError("chapter-3 report inputs need the 'clusterability' table (one row per network and clustering)")
    return split_random_init(rows)


def build_tables(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``table_clusterability`` (every cell) and one thesis-style table per experiment (analysis entry)."""
    trained, _ = _rows(inputs)
    summary = summarize_clusterability(trained)
    tables = {"table_clusterability": summary}
    if "experiment" in summary.columns:
        for experiment, group in summary.groupby("experiment", sort=True):
            tables[str(experiment)] = group.reset_index(drop=True)
    return tables


def experiment_caption(experiment: str, group: pd.DataFrame) -> str:
    first = group.iloc[0]
    return (f"Experiment {experiment}: {first['arch']} on {first['dataset']}, k = "
            f"{'/'.join(str(k) for k in sorted(group['k'].unique()))}. N-cut is mean ± s.d. over networks "
            "(ddof = 1); Dist. n-cuts is the mean over networks of each network's shuffle mean ± s.d.; "
            "Beat all shuffles counts networks whose n-cut is below all of their shuffles.")


def experiment_markdown(experiment: str, group: pd.DataFrame) -> str:
    """One experiment's summary cells as a thesis-style table with its caption."""
    return to_markdown(group.drop(columns=["experiment"]), caption=experiment_caption(experiment, group))


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


def tables_markdown(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    out = {}
    for name, df in tables.items():
        if name == "table_clusterability":
            out[name] = clusterability_markdown(df)
        else:
            out[name] = f"# {name}\n\n" + experiment_markdown(name, df)
    return out


def build_figures(inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """n-cut vs shuffles (layer shuffles); Figure 3.7 (``fig_3_7``) when some network has both layer and nonzero
    shuffles; random init (when present)."""
    out = Path(out_dir)
    trained, random_rows = _rows(inputs)
    written = {}
    layer = trained[trained["shuffle"] == "layer"] if "shuffle" in trained.columns else trained
    written["fig_ncut_vs_shuffles"] = out / "fig_ncut_vs_shuffles.png"
    plot_ncut_vs_shuffles(layer, written["fig_ncut_vs_shuffles"])
    shuffles = inputs.get("shuffles")
    if shuffles is not None and len(shuffles) and len(figure_3_7_networks(shuffles)):
        written["fig_3_7"] = out / "fig_3_7.png"
        plot_figure_3_7(shuffles, trained, written["fig_3_7"])
    if len(random_rows):
        written["fig_random_init"] = out / "fig_random_init.png"
        plot_random_init(random_rows, written["fig_random_init"], load_random_init_ranges())
    return written


def detailed_scorecards(inputs: dict[str, pd.DataFrame], reference: pd.DataFrame | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the detailed chapter-3 scorecard, the random-init scorecard or ``None``)."""
    trained, random_rows = _rows(inputs)
    card = detailed_scorecard(summarize_clusterability(trained), reference if reference is not None else load_reference())
    random_card = random_init_scorecard(random_rows, load_random_init_ranges()) if len(random_rows) else None
    return card, random_card


def _cell(row: pd.Series) -> str:
    from nnstructure.report.scorecard import _condition

    return _condition(row)


def scorecard(inputs: dict[str, pd.DataFrame], reference: pd.DataFrame) -> pd.DataFrame:
    """The generic scorecard: every compared (cell, metric), plus the random-init ranges."""
    card, random_card = detailed_scorecards(inputs, reference)
    generic = pd.DataFrame({
        "chapter": CHAPTER,
        "table": card["table"],
        "cell": card.apply(_cell, axis=1) if len(card) else pd.Series(dtype=str),
        "metric": card["metric"],
        "ours": card["ours"],
        "theirs": card["theirs"],
        "diff": card["diff"],
        "agrees": card["agrees"],
        "criterion": card["criterion"],
        "note": [f"{int(a)} networks (thesis {'' if math.isnan(b) else int(b)}); {s}" for a, b, s in
                 zip(card["ours_n_networks"], card["theirs_n_networks"], card["settings"].fillna(""))],
    })
    if random_card is not None and len(random_card):
        extra = pd.DataFrame({
            "chapter": CHAPTER,
            "table": random_card["figure"].replace("", pd.NA).fillna(""),
            "cell": [f"{a} random init, {d}, k={k}" for a, d, k in zip(random_card["arch"], random_card["dataset"], random_card["k"])],
            "metric": "mean random-init n-cut",
            "ours": random_card["ours_mean"],
            "theirs": [math.nan] * len(random_card),
            "diff": [math.nan] * len(random_card),
            "agrees": random_card["agrees"],
            "criterion": [f"mean in thesis range {lo:.2f}-{hi:.2f}" if not math.isnan(lo) else "" for lo, hi in
                          zip(random_card["theirs_min"], random_card["theirs_max"])],
            "note": [f"{n} networks" for n in random_card["n_networks"]],
        })
        generic = pd.concat([generic, extra], ignore_index=True)
    generic["agrees"] = generic["agrees"].astype("boolean")
    return generic
