"""Chapter 3 (clusterability) for the report engine: thesis-style tables, figures, scorecard.

``inputs``: ``{"clusterability": <one row per network phase and clustering setting>,
"shuffles": <one row per shuffled network>}`` (the workflow's aggregated tables;
``shuffles`` may be absent; ``run``: one row with the run's ``preset``, optional; ``dataset_paths``: the
``path`` of each dataset file the networks learnt from, for Figures 3.4 and 3.14, optional).
Random-init rows (``kind == "random_init"``) feed the random-init figures and
their scorecard instead of the tables.

Besides one table per analysis entry, every thesis table and n-cut figure the
rows make gets its own file named as in the thesis (``tables/table_3_4.{md,parquet}``,
``tables/table_a_1.*``, ``figures/fig_3_2.png``, ``figures/fig_a_1.png``;
:mod:`nnstructure.report.ch3_items` says which rows each holds), with a caption
that starts with the thesis id and says how our run differs from the thesis's.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from nnstructure.cluster.choose_k import DEFAULT_K_MAX, K_MIN
from nnstructure.report import ch3_items
from nnstructure.report.figures import (
    figure_3_7_networks,
    plot_dataset_samples,
    plot_figure_3_7,
    plot_ncut_vs_shuffles,
    plot_random_init,
)
from nnstructure.report.reference import load_random_init_ranges, parse_thesis_reference
from nnstructure.report.residuals import RESIDUAL_SD
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


def split_k_auto(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``rows`` into (rows at a fixed k, rows whose k the eigengap chose: ``k_setting == "auto"``).

    The thesis fixes k, so only the first are compared with it; the second are reported on their own
    (``table_k_auto``), one row per network with the k it chose."""
    if "k_setting" not in rows.columns:
        return rows, rows.iloc[0:0]
    auto = rows["k_setting"] == "auto"
    return rows[~auto].reset_index(drop=True), rows[auto].reset_index(drop=True)


def _rows(inputs: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trained and pretrained networks' rows, random-init rows), both at fixed k."""
    rows = inputs.get("clusterability")
    if rows is None:
        raise ValueError("chapter-3 report inputs need the 'clusterability' table (one row per network and clustering)")
    return split_random_init(split_k_auto(rows)[0])


#: Columns of ``table_k_auto`` (those the rows have), one row per network clustered with ``k: auto``.
K_AUTO_COLUMNS = ("experiment", "condition", "seed", "phase", "arch", "dataset", "reg", "pruned", "kind", "k",
                  "n_nodes", "ncut", "shuffle", "n_shuffles", "shuffle_mean", "shuffle_std", "p_value", "z_score")


K_AUTO_CAPTION = ("One row per network clustered with k: auto. k is the eigengap choice on the network's own graph "
                  "(the largest gap among the normalised Laplacian's smallest eigenvalues, k in "
                  f"{K_MIN}-{DEFAULT_K_MAX}); its shuffles are clustered at the same k. The thesis fixes k, so these rows "
                  "are not compared with it.")


def k_auto_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows clustered with ``k: auto``: each network's eigengap k, its n-cut and its shuffles' (which were
    clustered at the same k), in experiment order."""
    auto = split_k_auto(rows)[1]
    columns = [c for c in K_AUTO_COLUMNS if c in auto.columns]
    order = [c for c in ("experiment", "condition", "seed", "phase", "shuffle") if c in auto.columns]
    return auto[columns].sort_values(order, kind="stable").reset_index(drop=True)


def build_tables(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``table_clusterability`` (every cell), one thesis-style table per experiment (analysis entry) and one per
    thesis table the rows make (``table_3_1`` ... ``table_a_11``)."""
    trained, _ = _rows(inputs)
    summary = summarize_clusterability(trained)
    tables = {"table_clusterability": summary}
    auto = k_auto_table(inputs["clusterability"])
    if len(auto):
        tables["table_k_auto"] = auto
    if "experiment" in summary.columns:
        for experiment, group in summary.groupby("experiment", sort=True):
            tables[str(experiment)] = group.reset_index(drop=True)
    preset = _preset(inputs)
    for item, rows in ch3_items.rows_items(trained).items():
        if item.startswith("Table"):
            tables[ch3_items.item_stem(item)] = summarize_clusterability(rows).assign(
                thesis_item=item, caption=item_caption(item, rows, preset))
    return tables


#: Thesis item ids by file stem (``table_3_4`` -> ``Table 3.4``).
_ITEM_BY_STEM = {ch3_items.item_stem(item): item for item in ch3_items.ITEMS}


def _thesis_title(item: str) -> str:
    from nnstructure.report.index import load_thesis_items

    titles = load_thesis_items().set_index("id")["title"]
    return str(titles.get(item, ""))


def _values(rows: pd.DataFrame, column: str) -> list:
    return sorted(rows[column].dropna().unique().tolist()) if column in rows.columns else []


def _joined(values) -> str:
    return "/".join(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values)


def _thesis_sizes(item: str) -> str:
    """The thesis's networks per cell and shuffles for the tables an item comes from (its reference rows)."""
    labels = ch3_items.ITEMS[item].labels
    if not labels:
        return "100 networks per architecture"  # Figures A.1-A.3
    ref = load_reference()
    ref = ref[ref["table"].astype(str).isin(labels)]
    if ref.empty:
        return ""
    parts = []
    networks = _values(ref, "n_networks")
    if networks:
        parts.append(f"{_joined(networks)} networks per cell")
    shuffles = [n for n in _values(ref, "n_shuffles") if n > 0]
    if shuffles:
        parts.append(f"{_joined(shuffles)} shuffles")
    return ", ".join(parts)


def item_caption(item: str, rows: pd.DataFrame, preset: str | None = None) -> str:
    """``Table A.1: <thesis title>.`` then what of this run it holds and how the run differs from the thesis's:
    the entries, networks per cell, training epochs, shuffles and preset."""
    spec = ch3_items.ITEMS[item]
    entries = _values(rows, "experiment")
    ids = [c for c in ("experiment", "condition", "seed") if c in rows.columns]
    cells = [c for c in ("experiment", "condition", "pruned", "k") if c in rows.columns]
    per_cell = rows.groupby(cells, dropna=False)["seed"].nunique() if cells and "seed" in rows else pd.Series(dtype=int)
    ours = [f"{len(rows[ids].drop_duplicates()) if ids else len(rows)} networks"
            + (f" ({_joined(sorted(per_cell.unique()))} per cell)" if len(per_cell) else "")]
    epochs, prune = _values(rows, "epochs"), _values(rows, "prune_epochs")
    if epochs:
        ours.append(f"{_joined(epochs)} training" + (f" + {_joined(prune)} pruning" if any(prune) else "") + " epochs")
    shuffles = [n for n in _values(rows, "n_shuffles") if n > 0]
    if shuffles:
        ours.append(f"{_joined(shuffles)} shuffles")
    where = f"preset '{preset}'" if preset else "this run"
    what = f"; {spec.what}" if spec.what else ""
    theirs = _thesis_sizes(item)
    if entries:
        where += f", entries {', '.join(map(str, entries))}"
    return (f"{item}: {_thesis_title(item)}. Ours ({where}{what}): "
            f"{', '.join(ours)}" + (f"; the thesis: {theirs}." if theirs else "."))


def _preset(inputs: dict[str, pd.DataFrame]) -> str | None:
    run = inputs.get("run")
    return str(run["preset"].iloc[0]) if run is not None and len(run) and "preset" in run else None


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
        elif name == "table_k_auto":
            out[name] = "# Clusterability at k: auto\n\n" + to_markdown(df, caption=K_AUTO_CAPTION)
        elif name in _ITEM_BY_STEM and "thesis_item" in df.columns:
            # a thesis table: its caption says what of our run it holds (one value, repeated per row)
            caption = str(df["caption"].iloc[0]) if len(df) else f"{_ITEM_BY_STEM[name]}: no rows."
            out[name] = f"# {_ITEM_BY_STEM[name]}\n\n" + to_markdown(df.drop(columns=["thesis_item", "caption"]),
                                                                      caption=caption)
        else:
            out[name] = f"# {name}\n\n" + experiment_markdown(name, df)
    return out


def build_figures(inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """n-cut vs shuffles of every network (layer shuffles); one n-cut figure per thesis figure the rows make
    (``fig_3_2`` ...); Figures 3.4 and 3.14 from the dataset files; Figure 3.7 (``fig_3_7``) when some network has both layer and nonzero shuffles; random
    init (every architecture, and ``fig_a_1`` ... ``fig_a_3`` one each)."""
    out = Path(out_dir)
    trained, random_rows = _rows(inputs)
    preset = _preset(inputs)
    written = {}
    layer = trained[trained["shuffle"] == "layer"] if "shuffle" in trained.columns else trained
    written["fig_ncut_vs_shuffles"] = out / "fig_ncut_vs_shuffles.png"
    plot_ncut_vs_shuffles(layer, written["fig_ncut_vs_shuffles"])
    for item, rows in ch3_items.rows_items(trained).items():
        if item.startswith("Figure"):
            stem = ch3_items.item_stem(item)
            written[stem] = out / f"{stem}.png"
            plot_ncut_vs_shuffles(rows, written[stem], heading=item_caption(item, rows, preset))
    datasets = inputs.get("dataset_paths")
    if datasets is not None and len(datasets):
        for item, files in ch3_items.paths_dataset_figures(datasets["path"]).items():
            stem = ch3_items.item_stem(item)
            written[stem] = out / f"{stem}.png"
            names = ", ".join(Path(f).stem for f in files)
            plot_dataset_samples(files, written[stem], ch3_items.SAMPLE_CLASS,
                                 heading=f"{item}: {_thesis_title(item)}. Ours"
                                         + (f" (preset '{preset}')" if preset else "") + f": {names}")
    shuffles = inputs.get("shuffles")
    if shuffles is not None and len(shuffles) and len(figure_3_7_networks(shuffles)):
        written["fig_3_7"] = out / "fig_3_7.png"
        plot_figure_3_7(shuffles, trained, written["fig_3_7"])
    if len(random_rows):
        ranges = load_random_init_ranges()
        written["fig_random_init"] = out / "fig_random_init.png"
        plot_random_init(random_rows, written["fig_random_init"], ranges)
        for item, rows in ch3_items.rows_items(random_rows).items():
            stem = ch3_items.item_stem(item)
            written[stem] = out / f"{stem}.png"
            plot_random_init(rows, written[stem], ranges, heading=item_caption(item, rows, preset))
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
        # n-cut cells: the difference in the thesis's s.d. that their criterion uses (shuffle s.d., or n-cut s.d.)
        RESIDUAL_SD: card["diff"] / card["scale"] if len(card) else pd.Series(dtype=float),
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
