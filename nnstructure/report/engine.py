"""One report engine for every chapter: tables, figures and the scorecard beside the thesis.

A chapter contributes a *chapter module* (``nnstructure/report/ch3.py``,
``ch4.py``, ``ch5.py``, ``ch5_part2.py``), never a branch here. A chapter module
exposes:

* ``CHAPTER`` (int) and ``REFERENCE_FILES``: the package CSVs in
  ``nnstructure/reference/`` with the thesis's numbers (optionally a
  ``load_reference()`` that parses them);
* ``build_tables(inputs) -> {name: DataFrame}``: thesis-layout tables;
* ``tables_markdown(tables) -> {name: markdown}``;
* ``build_figures(inputs, out_dir) -> {name: path}``;
* ``scorecard(inputs, reference) -> DataFrame`` with at least the columns of
  :data:`CARD_COLUMNS` (``chapter`` is filled in here when missing).

``inputs`` are the chapter's aggregated Parquet tables by name.
:func:`write_chapter_report` writes one chapter's tables (Parquet + Markdown),
figures and scorecard; :func:`combined_scorecard_markdown` renders every
chapter's scorecard in one document.
"""

from __future__ import annotations

import importlib
import math
import os
from pathlib import Path
from types import ModuleType

import pandas as pd

from nnstructure.io import write_parquet, write_text

#: The generic scorecard columns every chapter provides.
CARD_COLUMNS: tuple[str, ...] = ("chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note")

#: Chapter modules by name, in report order.
CHAPTER_MODULES: dict[str, str] = {
    "ch3": "nnstructure.report.ch3",
    "ch4": "nnstructure.report.ch4",
    "ch5": "nnstructure.report.ch5",
    "ch5_part2": "nnstructure.report.ch5_part2",
}

_REQUIRED = ("CHAPTER", "REFERENCE_FILES", "build_tables", "tables_markdown", "build_figures", "scorecard")


def load_chapter(name: str) -> ModuleType:
    """The chapter module ``name`` (a key of :data:`CHAPTER_MODULES` or a module path), checked for the interface."""
    module = importlib.import_module(CHAPTER_MODULES.get(name, name))
    missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"report chapter module {module.__name__} lacks {missing}; see nnstructure.report.engine")
    return module


def chapter_reference(module: ModuleType) -> pd.DataFrame:
    """The thesis numbers of a chapter: its own ``load_reference()`` or its CSVs concatenated as text."""
    if hasattr(module, "load_reference"):
        return module.load_reference()
    from nnstructure.report.reference import _read_package_csv

    return pd.concat([_read_package_csv(name) for name in module.REFERENCE_FILES], ignore_index=True)


def normalise_card(card: pd.DataFrame, chapter: int) -> pd.DataFrame:
    """A chapter's scorecard with the generic columns (extra columns kept after them)."""
    card = card.copy()
    if "chapter" not in card.columns:
        card.insert(0, "chapter", chapter)
    for column in CARD_COLUMNS:
        if column not in card.columns:
            card[column] = math.nan if column in ("ours", "theirs", "diff") else ""
    if "diff" in card.columns:
        missing = card["diff"].isna() & card["ours"].notna() & card["theirs"].notna()
        card.loc[missing, "diff"] = pd.to_numeric(card.loc[missing, "ours"]) - pd.to_numeric(card.loc[missing, "theirs"])
    card["agrees"] = card["agrees"].astype("boolean")
    extra = [c for c in card.columns if c not in CARD_COLUMNS]
    return card[[*CARD_COLUMNS, *extra]]


def write_chapter_report(name: str, inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write a chapter's tables, figures and scorecard into ``out_dir``; return {artifact name: path}.

    Tables go to ``out_dir/tables/<name>.{parquet,md}``, figures to
    ``out_dir/figures/``, the scorecard to ``out_dir/scorecard.parquet``.
    """
    module = load_chapter(name)
    out = Path(out_dir)
    written: dict[str, Path] = {}
    tables = module.build_tables(inputs)
    markdown = module.tables_markdown(tables)
    for table_name, df in tables.items():
        written[f"{table_name}_parquet"] = out / "tables" / f"{table_name}.parquet"
        write_parquet(df.reset_index(drop=True), written[f"{table_name}_parquet"])
        if table_name in markdown:
            written[table_name] = out / "tables" / f"{table_name}.md"
            write_text(markdown[table_name].rstrip() + "\n", written[table_name])
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    for fig_name, path in module.build_figures(inputs, out / "figures").items():
        written[fig_name] = Path(path)
    card = normalise_card(module.scorecard(inputs, chapter_reference(module)), int(module.CHAPTER))
    written["scorecard_parquet"] = out / "scorecard.parquet"
    write_parquet(card, written["scorecard_parquet"])
    written["scorecard"] = out / "scorecard.md"
    write_text(chapter_scorecard_markdown(card, module), written["scorecard"])
    return written


def chapter_scorecard_markdown(card: pd.DataFrame, module: ModuleType) -> str:
    """One chapter's scorecard as Markdown (``scorecard.md`` beside its ``scorecard.parquet``): agreement counts
    per table, then each comparison, as that chapter's section of :func:`combined_scorecard_markdown`."""
    summary = (module.__doc__ or "").strip().splitlines()
    title = f"Reproduction scorecard: {summary[0].rstrip('.')}" if summary else f"Reproduction scorecard: chapter {module.CHAPTER}"
    return combined_scorecard_markdown([card], title=title)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (int, float)):
        magnitude = abs(float(value))
        if magnitude and (magnitude < 1e-3 or magnitude >= 1e5):
            return f"{float(value):.3g}"
        return f"{float(value):.4g}"
    return str(value)


def combined_scorecard_markdown(cards: list[pd.DataFrame], notes: dict[int, str] | None = None,
                                title: str = "Reproduction scorecard") -> str:
    """Every chapter's scorecard in one Markdown document: agreement counts per table, then each comparison."""
    from nnstructure.report.tables import format_tick, to_markdown

    card = pd.concat([c for c in cards if len(c)], ignore_index=True) if any(len(c) for c in cards) else pd.DataFrame(columns=CARD_COLUMNS)
    lines = [f"# {title}", "",
             "Our numbers beside the thesis's published ones, chapter by chapter. `Agrees` applies the criterion in "
             "its column; an empty mark means no criterion applies (a number of ours without a thesis counterpart, "
             "or a value reported for information). Shortened presets train less and sample less than the thesis, "
             "so disagreement there is expected and is not by itself a failed reproduction.", ""]
    for chapter, group in card.groupby("chapter", sort=True):
        lines += [f"## Chapter {int(chapter)}", ""]
        if notes and int(chapter) in notes:
            lines += [notes[int(chapter)].strip(), ""]
        judged = group[group["agrees"].notna()]
        if len(judged):
            # As plain integers: an aggregate of a nullable-boolean column is cast back to boolean (the count of
            # agreements would read True/False).
            judged_int = judged.assign(agrees=judged["agrees"].astype(bool).astype(int))
            counts = judged_int.groupby("table", sort=True)["agrees"].agg(compared="size", agree="sum")
            lines += [to_markdown(counts.reset_index().rename(columns={"table": "Table", "compared": "Compared",
                                                                      "agree": "Agree"})), ""]
        shown = pd.DataFrame({
            "Table": group["table"], "Cell": group["cell"], "Metric": group["metric"],
            "Ours": group["ours"].map(_fmt), "Thesis": group["theirs"].map(_fmt), "Diff": group["diff"].map(_fmt),
            "Agrees": group["agrees"].map(lambda v: "" if v is pd.NA or pd.isna(v) else format_tick(bool(v))),
            "Criterion": group["criterion"], "Note": group["note"],
        })
        lines += [to_markdown(shown), ""]
    if card.empty:
        lines += ["No chapter produced results in this preset.", ""]
    lines += _residuals_section(card)
    return "\n".join(lines).rstrip() + "\n"


def _residuals_section(card: pd.DataFrame) -> list[str]:
    """The largest residuals in standard deviations (:func:`nnstructure.report.residuals.largest_residuals`)."""
    from nnstructure.report.residuals import N_LARGEST_RESIDUALS, RESIDUAL_SD, largest_residuals
    from nnstructure.report.tables import to_markdown

    top = largest_residuals(card)
    if top.empty:
        return []
    shown = pd.DataFrame({"Chapter": top["chapter"].astype(int), "Table": top["table"], "Cell": top["cell"],
                          "Metric": top["metric"], "Ours": top["ours"].map(_fmt), "Thesis": top["theirs"].map(_fmt),
                          "Diff / s.d.": top[RESIDUAL_SD].map(lambda v: f"{v:+.1f}")})
    return [f"## Largest residuals in standard deviations (at most {N_LARGEST_RESIDUALS})", "",
            "Chapter 3's n-cuts in the thesis's shuffle s.d. (or its n-cut s.d. over networks where a table has no "
            "shuffle s.d.); chapter 4's effect measures in their combined standard error. FIDELITY.md gives the "
            "likely cause of each cell outside its criterion.", "", to_markdown(shown), ""]
