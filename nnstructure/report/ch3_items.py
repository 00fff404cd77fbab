"""Chapter 3's thesis tables and figures, one file each, named as in the thesis.

A thesis item of chapter 3 (and its appendix A) is a selection of the
clusterability rows: the rows of the analysis entries whose ``table`` label
names it (an entry labelled ``A.1`` makes Table A.1 and its points in Figures 3.2
and 3.3), narrowed where the thesis splits one experiment over several items:

* by phase (Figure 3.2 draws the networks before pruning, 3.3 after);
* by clustering k (Tables 3.7-3.10 are the k = 4, 7, 10 and 2 rows of one experiment);
* by dropout (Table 3.2 has the networks without it, 3.3 those with it);
* by regulariser (Figure 3.9 is Figure 3.8's networks without regularisation or with dropout).

Figures A.1-A.3 are the random-init networks of one architecture each; Figures 3.4
and 3.14 are samples of class 3 of the 'halves' and 'stack' datasets the
entries' networks learnt from (:data:`DATASET_FIGURES`).

The same selection is made twice: on the analysis cells of a workflow config
(:func:`config_items`: which items a run makes and from which entries, so the
workflow can declare each file and the index can say where it is), and on the
rows (:func:`item_rows`: what each file holds). A test checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from nnstructure import workflow as wc

RANDOM_INIT_KIND = "random_init"


@dataclass(frozen=True)
class Ch3Item:
    """Which clusterability rows make a chapter-3 thesis item.

    ``labels``: the entries' ``table`` labels; ``phase``: ``unpruned`` or ``pruned`` only; ``k``: that
    clustering k only; ``dropout``: networks with (True) or without (False) dropout only; ``regs``: these
    regularisers only; ``scatter``: an n-cut-against-shuffles figure (rows with layer shuffles);
    ``random_init_arch``: Figures A.1-A.3, the random-init networks of that architecture (``labels`` unused).
    """

    labels: tuple[str, ...] = ()
    phase: str | None = None
    k: int | None = None
    dropout: bool | None = None
    regs: tuple[str, ...] | None = None
    scatter: bool = False
    random_init_arch: str | None = None

    @property
    def what(self) -> str:
        """The part of its entries' networks the item holds (for the index and the captions), or ''."""
        parts = []
        if self.phase:
            parts.append(f"{self.phase} networks")
        if self.k is not None:
            parts.append(f"k = {self.k}")
        if self.dropout is not None:
            parts.append("with dropout" if self.dropout else "without dropout")
        if self.regs:
            parts.append("regularisation " + " or ".join(self.regs))
        return ", ".join(parts)


def _scatter(labels: tuple[str, ...], phase: str | None = None, regs: tuple[str, ...] | None = None) -> Ch3Item:
    return Ch3Item(labels, phase=phase, regs=regs, scatter=True)


#: Every chapter-3 (and appendix-A) thesis table and n-cut figure these rows make, by thesis id.
ITEMS: dict[str, Ch3Item] = {
    "Table 3.1": Ch3Item(("3.1",)),
    "Table 3.2": Ch3Item(("3.2",), dropout=False),
    "Table 3.3": Ch3Item(("3.2",), dropout=True),
    "Table 3.4": Ch3Item(("3.4",)),
    "Table 3.5": Ch3Item(("3.5",)),
    "Table 3.6": Ch3Item(("3.6",)),
    "Table 3.7": Ch3Item(("3.7-3.10",), k=4),
    "Table 3.8": Ch3Item(("3.7-3.10",), k=7),
    "Table 3.9": Ch3Item(("3.7-3.10",), k=10),
    "Table 3.10": Ch3Item(("3.7-3.10",), k=2),
    "Table 3.11": Ch3Item(("3.11",)),
    **{f"Table A.{n}": Ch3Item((f"A.{n}",)) for n in range(1, 12)},
    "Figure 3.2": _scatter(("A.1", "A.2"), "unpruned"),
    "Figure 3.3": _scatter(("A.1", "A.2"), "pruned"),
    "Figure 3.5": _scatter(("A.3",)),
    "Figure 3.6": _scatter(("3.1",)),
    "Figure 3.8": _scatter(("A.4", "A.5"), "unpruned"),
    "Figure 3.9": _scatter(("A.4", "A.5"), "unpruned", regs=("none", "dropout")),
    "Figure 3.10": _scatter(("A.4", "A.5"), "pruned"),
    "Figure 3.11": _scatter(("A.6",), "unpruned"),
    "Figure 3.12": _scatter(("A.6",), "pruned"),
    "Figure 3.13": _scatter(("A.7",)),
    "Figure 3.15": _scatter(("A.8",)),
    "Figure 3.16": _scatter(("3.11",)),
    "Figure 3.17": _scatter(("A.9",)),
    "Figure 3.18": _scatter(("A.10",)),
    "Figure 3.19": _scatter(("A.11",)),
    "Figure A.1": Ch3Item(random_init_arch="mlp"),
    "Figure A.2": Ch3Item(random_init_arch="cnn"),
    "Figure A.3": Ch3Item(random_init_arch="vgg"),
}


#: Figures of samples of the datasets whose names hold the kind (``mnist-halves-same``), all of this class.
DATASET_FIGURES: dict[str, str] = {"Figure 3.4": "halves", "Figure 3.14": "stack"}
SAMPLE_CLASS = 3


def item_stem(item: str) -> str:
    """The file name (without suffix) of a thesis item: ``Table 3.1`` -> ``table_3_1``, ``Figure C.14`` ->
    ``fig_c_14``."""
    kind, number = item.split(" ", 1)
    prefix = {"Table": "table", "Figure": "fig"}[kind]
    return f"{prefix}_{number.replace('.', '_').lower()}"


def item_files(item: str) -> list[str]:
    """The files of a chapter-3 item, relative to the chapter's report folder."""
    stem = item_stem(item)
    if item.startswith("Table"):
        return [f"tables/{stem}.md", f"tables/{stem}.parquet"]
    return [f"figures/{stem}.png"]


def item_outputs(config: dict, cells: Iterable[wc.AnalysisCell], shown: bool) -> dict[str, tuple[str, str, str]]:
    """The files the chapter-3 report writes for the items ``cells`` make, as the workflow declares them: output
    name -> (path in the chapter's report folder, thesis id, caption file stem in ``report/``). ``shown``: the
    files the HTML report shows (Markdown tables, figures), else the others (the tables' Parquet)."""
    out = {}
    cells = list(cells)
    items = [*config_items(config, cells), *config_dataset_figures(config, cells)]
    for item in items:
        for name in item_files(item):
            if name.endswith(".parquet") == shown:
                continue
            if name.endswith(".md"):
                caption = "table"
            elif item in DATASET_FIGURES:
                caption = "fig_dataset_samples"
            else:
                caption = "fig_random_init" if ITEMS[item].random_init_arch else "fig_ncut_vs_shuffles"
            out["item_" + name.rsplit("/", 1)[-1].replace(".", "_")] = (name, item, caption)
    return out


# ---------------------------------------------------------------------------------------------
# On a config: which items its cells make


def planned_cells(config: dict) -> list[wc.AnalysisCell]:
    """Every clusterability cell of ``config`` whether or not its data is here (the index asks what a preset
    makes; :func:`nnstructure.workflow.analysis_cells` leaves out the cells whose data is missing)."""
    cells = []
    for entry in wc.analysis_entries(config, "clusterability"):
        spec = wc.analysis_entry(config, "clusterability", entry)
        name = wc.entry_set(config, "clusterability", entry)
        for net in wc.networks_of(config, name):
            if spec.get("conditions") is not None and net.condition not in spec["conditions"]:
                continue
            if spec.get("seeds") is not None and net.seed not in spec["seeds"]:
                continue
            for phase in wc.network_phases(config, name):
                if spec.get("phases") is None or phase in spec["phases"]:
                    cells.append(wc.AnalysisCell(entry, net, phase))
    return cells


def _cell_makes(config: dict, item: Ch3Item, cell: wc.AnalysisCell) -> bool:
    name = cell.network.network_set
    kind = wc.network_kind(config, name)
    settings = wc.clustering_settings(config, cell.entry)
    if item.random_init_arch is not None:
        return kind == RANDOM_INIT_KIND and wc.network_set(config, name).get(
            "label_arch", wc.network_set(config, name)["arch"]) == item.random_init_arch
    if kind == RANDOM_INIT_KIND:
        return False
    if str(wc.analysis_entry(config, "clusterability", cell.entry).get("table", "")) not in item.labels:
        return False
    if item.phase is not None and cell.phase != item.phase:
        return False
    if item.k is not None and item.k not in settings["k"]:
        return False
    if item.scatter and not (settings["n_shuffles"] > 0 and "layer" in settings["shuffle"]):
        return False
    if kind == "pretrained":
        dropout, reg = 0.0, "none"
    else:
        dropout = float(wc.network_settings(config, cell.network).get("dropout") or 0)
        reg = str(wc.set_conditions(config, name)[cell.network.condition].get("reg", cell.network.condition))
    if item.dropout is not None and (dropout > 0) != item.dropout:
        return False
    return item.regs is None or reg in item.regs


def config_items(config: dict, cells: Iterable[wc.AnalysisCell] | None = None) -> dict[str, list[str]]:
    """Per chapter-3 item that ``cells`` make (default: every planned cell of ``config``), the entries whose
    rows it holds, in config order."""
    cells = planned_cells(config) if cells is None else list(cells)
    out: dict[str, list[str]] = {}
    for item_id, item in ITEMS.items():
        entries = []
        for cell in cells:
            if cell.entry not in entries and _cell_makes(config, item, cell):
                entries.append(cell.entry)
        if entries:
            out[item_id] = entries
    return out


#: config_items of the configs seen last, by their canonical JSON (the index asks once per item of one config).
_ITEMS_CACHE: dict[str, dict[str, list[str]]] = {}
_ITEMS_CACHE_SIZE = 16


def config_items_cached(config: dict) -> dict[str, list[str]]:
    """:func:`config_items` of every planned cell of ``config``, computed once per distinct config content
    (the thesis index locates its 40 chapter-3 items one by one: 40 times the same work, 4.7 CPU-s for
    ``config/paper.yaml``, before this cache). Returns a copy."""
    import json

    key = json.dumps(config, sort_keys=True, default=str)
    if key not in _ITEMS_CACHE:
        if len(_ITEMS_CACHE) >= _ITEMS_CACHE_SIZE:
            _ITEMS_CACHE.clear()
        _ITEMS_CACHE[key] = config_items(config)
    return {item: list(entries) for item, entries in _ITEMS_CACHE[key].items()}


def config_dataset_figures(config: dict, cells: Iterable[wc.AnalysisCell] | None = None) -> dict[str, list[str]]:
    """Figures 3.4 and 3.14 that ``cells`` make (default: every planned cell): the datasets of the trained
    networks whose dataset names hold the figure's kind, sorted."""
    cells = planned_cells(config) if cells is None else list(cells)
    out = {}
    for item, kind in DATASET_FIGURES.items():
        names = sorted({wc.set_dataset(config, c.network.network_set) for c in cells
                        if wc.network_kind(config, c.network.network_set) == "trained"
                        and f"-{kind}-" in wc.set_dataset(config, c.network.network_set)})
        if names:
            out[item] = names
    return out


def paths_dataset_figures(paths: Iterable[str]) -> dict[str, list[str]]:
    """Figures 3.4 and 3.14 of the dataset files ``paths`` (``<name>.npz``): the paths of each, sorted."""
    out = {}
    for item, kind in DATASET_FIGURES.items():
        mine = sorted(str(p) for p in paths if f"-{kind}-" in Path(p).stem)
        if mine:
            out[item] = mine
    return out


# ---------------------------------------------------------------------------------------------
# On the rows: what each item's file holds


def _column(rows: pd.DataFrame, name: str, default) -> pd.Series:
    return rows[name] if name in rows.columns else pd.Series(default, index=rows.index)


def item_rows(rows: pd.DataFrame, item: Ch3Item) -> pd.DataFrame:
    """The clusterability rows of ``item`` (rows as the workflow's ``clusterability.parquet``: ``table``,
    ``kind``, ``pruned``, ``k``, ``dropout``, ``reg``, ``shuffle``, ...)."""
    if rows.empty:
        return rows
    kind = _column(rows, "kind", "trained").astype(str)
    if item.random_init_arch is not None:
        return rows[(kind == RANDOM_INIT_KIND) & (rows["arch"].astype(str) == item.random_init_arch)]
    mask = (kind != RANDOM_INIT_KIND) & _column(rows, "table", "").astype(str).isin(item.labels)
    if item.phase is not None:
        mask &= rows["pruned"].astype(bool) == (item.phase == "pruned")
    if item.k is not None:
        mask &= rows["k"] == item.k
    if item.dropout is not None:
        mask &= (_column(rows, "dropout", 0.0).fillna(0).astype(float) > 0) == item.dropout
    if item.regs is not None:
        mask &= rows["reg"].astype(str).isin(item.regs)
    if item.scatter:
        mask &= (_column(rows, "shuffle", "layer").astype(str) == "layer") & rows["shuffle_mean"].notna()
    return rows[mask]


def rows_items(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every chapter-3 item with rows among ``rows``: its rows."""
    out = {}
    for item_id, item in ITEMS.items():
        selected = item_rows(rows, item)
        if len(selected):
            out[item_id] = selected.reset_index(drop=True)
    return out
