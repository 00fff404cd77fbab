"""The reproduction scorecard: our summarised cells beside the thesis's numbers.

Public API (signatures are stable; the workflow calls them):

* ``scorecard(rows_summary, reference=None) -> DataFrame``: long format, one row
  per (our cell, matching thesis table row, metric).  Cells of ours with no
  thesis row are kept, with ``table`` and ``theirs`` empty.
* ``random_init_scorecard(random_init, ranges=None) -> DataFrame``: our
  random-initialisation n-cuts against the thesis's Figure A.1-A.3 ranges.
* ``scorecard_markdown(card, random_init_card=None, settings_note=None) -> str``.
* ``coverage(card, numbers=None) -> DataFrame``: per chapter of a combined (generic) scorecard, the
  comparisons made, within and outside their criterion, and the thesis's numbers not run, with the reason
  (GPU, no data here, left out); ``coverage_line``, ``coverage_notes`` and ``coverage_markdown`` render it.

Matching.  A summary cell matches a thesis row when ``arch, dataset, reg,
pruned, init, k, epochs_variant`` are equal (:data:`MATCH_KEYS`).  The shuffle
count is *not* a key, so a shortened preset (fewer shuffles) still lines up;
both counts are reported (``ours_n_shuffles``, ``theirs_n_shuffles``).  Only
cells with ``shuffle`` "layer" (the thesis's standard shuffle) or "none" are matched;
nonzero-shuffle cells are listed as unmatched.  A cell may match several
thesis rows (Table 3.2's MNIST row repeats A.1's), and each is compared.

Agreement criteria (``agrees``; empty where no criterion applies):

* n-cut-valued metrics (``ncut``, ``unpruned_ncut``, ``shuffle_mean``):
  ``|ours - theirs| <= 2 * scale`` where ``scale`` is the thesis row's shuffle
  s.d., or, for tables without one (3.2, 3.3), its s.d. of n-cuts over
  networks (``scale_source`` says which).  ``diff_in_shuffle_sd = diff / scale``.
* spreads (``shuffle_std``, ``ncut_std``): ratio ours/theirs within [0.5, 2].
* ``frac_beat_all`` (= n_beat_all / n_networks): both at least one half, or
  both below one half (the thesis's qualitative "reliably more clusterable
  than all shuffles").  Fewer shuffles make beating all of them easier; the
  shuffle counts are in the row.
* ``p_value`` (A.7): both <= 0.05 or both > 0.05.
* accuracies (train, test; A.7's top-1 is compared with our test accuracy):
  ``|diff| <= 0.01``.
* losses: ``|diff| <= max(0.01, 0.25 * theirs)``.
"""

from __future__ import annotations

import math

import pandas as pd

from nnstructure.report.reference import load_random_init_ranges, load_thesis_reference
from nnstructure.report.tables import format_tick

MATCH_KEYS: tuple[str, ...] = ("arch", "dataset", "reg", "pruned", "init", "k", "epochs_variant")

#: metric name -> (criterion kind, description)
METRICS: dict[str, str] = {
    "ncut": "ncut",
    "unpruned_ncut": "ncut",
    "shuffle_mean": "ncut",
    "ncut_std": "spread",
    "shuffle_std": "spread",
    "frac_beat_all": "fraction",
    "p_value": "p",
    "train_accuracy": "accuracy",
    "test_accuracy": "accuracy",
    "train_loss": "loss",
    "test_loss": "loss",
}
CRITERIA: dict[str, str] = {
    "ncut": "|diff| <= 2 thesis shuffle s.d.",
    "spread": "ratio in [0.5, 2]",
    "fraction": "same side of 1/2",
    "p": "same side of 0.05",
    "accuracy": "|diff| <= 0.01",
    "loss": "|diff| <= max(0.01, 25%)",
}
CARD_COLUMNS: tuple[str, ...] = (
    "experiment", *MATCH_KEYS, "shuffle", "table", "metric", "ours", "theirs", "diff", "scale", "scale_source",
    "diff_in_shuffle_sd", "agrees", "criterion", "ours_n_networks", "theirs_n_networks", "ours_n_shuffles",
    "theirs_n_shuffles", "settings",
)


def _metric_values(row: pd.Series, thesis: bool) -> dict[str, float]:
    def get(column: str) -> float:
        value = row.get(column, math.nan)
        return math.nan if value is None or pd.isna(value) else float(value)

    values = {name: get(name) for name in METRICS if name != "frac_beat_all"}
    n_networks = get("n_networks")
    has_count = not math.isnan(get("n_beat_all")) and n_networks > 0
    if not thesis and math.isnan(get("shuffle_mean")):
        has_count = False  # a cell without shuffles has no beat-all statement
    values["frac_beat_all"] = get("n_beat_all") / n_networks if has_count else math.nan
    if thesis and math.isnan(values["test_accuracy"]):
        values["test_accuracy"] = get("top1_accuracy")
    return values


def _judge(kind: str, ours: float, theirs: float, scale: float) -> tuple[float, object]:
    """Return (diff in scale units, agrees) for one metric."""
    if math.isnan(ours) or math.isnan(theirs):
        return math.nan, pd.NA
    diff = ours - theirs
    if kind == "ncut":
        if not (scale > 0):
            return math.nan, pd.NA
        return diff / scale, bool(abs(diff) <= 2 * scale)
    if kind == "spread":
        if theirs <= 0:
            return math.nan, pd.NA
        return math.nan, bool(0.5 <= ours / theirs <= 2.0)
    if kind == "fraction":
        return math.nan, bool((ours >= 0.5) == (theirs >= 0.5))
    if kind == "p":
        return math.nan, bool((ours <= 0.05) == (theirs <= 0.05))
    if kind == "accuracy":
        return math.nan, bool(abs(diff) <= 0.01 + 1e-12)
    if kind == "loss":
        return math.nan, bool(abs(diff) <= max(0.01, 0.25 * abs(theirs)) + 1e-12)
    raise ValueError(f"unknown criterion kind {kind!r}")


def _scale(thesis_row: pd.Series | None) -> tuple[float, str]:
    if thesis_row is None:
        return math.nan, ""
    for column, label in (("shuffle_std", "thesis shuffle s.d."), ("ncut_std", "thesis n-cut s.d. over networks")):
        value = thesis_row.get(column, math.nan)
        if value is not None and not pd.isna(value) and value > 0:
            return float(value), label
    return math.nan, ""


def _normalise_keys(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["pruned"] = df["pruned"].astype(bool)
    df["k"] = df["k"].astype(int)
    for column in ("arch", "dataset", "reg", "init", "epochs_variant"):
        df[column] = df[column].astype(str)
    return df


def scorecard(rows_summary: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare :func:`~nnstructure.report.tables.summarize_clusterability` output with the thesis.

    ``reference`` defaults to :func:`~nnstructure.report.reference.load_thesis_reference`.
    Returns one row per (cell, thesis row, metric present in ours) with the columns
    :data:`CARD_COLUMNS`; unmatched cells have an empty ``table`` and NaN ``theirs``.
    See the module docstring for the matching rule and agreement criteria.
    """
    missing = [c for c in (*MATCH_KEYS, "ncut", "n_networks") if c not in rows_summary.columns]
    if missing:
        raise ValueError(
            f"summary lacks column(s) {missing}; pass the output of summarize_clusterability(rows)"
        )
    reference = load_thesis_reference() if reference is None else reference
    ours = _normalise_keys(rows_summary).reset_index(drop=True)
    theirs = _normalise_keys(reference).reset_index(drop=True)
    theirs_by_key = {key: group for key, group in theirs.groupby(list(MATCH_KEYS), sort=False)}

    records = []
    for _, cell in ours.iterrows():
        key = tuple(cell[k] for k in MATCH_KEYS)
        shuffle_kind = cell.get("shuffle", "layer")
        matched = theirs_by_key.get(key) if shuffle_kind in ("layer", "none") else None
        thesis_rows = [None] if matched is None else [r for _, r in matched.iterrows()]
        our_values = _metric_values(cell, thesis=False)
        for thesis_row in thesis_rows:
            their_values = _metric_values(thesis_row, thesis=True) if thesis_row is not None else {}
            scale, scale_source = _scale(thesis_row)
            for metric, kind in METRICS.items():
                mine = our_values[metric]
                other = their_values.get(metric, math.nan)
                if math.isnan(mine) or (thesis_row is not None and math.isnan(other)):
                    continue
                ratio, agrees = _judge(kind, mine, other, scale)
                records.append({
                    "experiment": cell.get("experiment", ""),
                    **{k: cell[k] for k in MATCH_KEYS},
                    "shuffle": shuffle_kind,
                    "table": "" if thesis_row is None else thesis_row["table"],
                    "metric": metric,
                    "ours": mine,
                    "theirs": other,
                    "diff": mine - other,
                    "scale": scale if kind == "ncut" else math.nan,
                    "scale_source": scale_source if kind == "ncut" else "",
                    "diff_in_shuffle_sd": ratio,
                    "agrees": agrees,
                    "criterion": (f"|diff| <= 2 x {scale_source}" if kind == "ncut" and scale_source
                                  else CRITERIA[kind]),
                    "ours_n_networks": int(cell["n_networks"]),
                    "theirs_n_networks": math.nan if thesis_row is None else float(thesis_row["n_networks"]),
                    "ours_n_shuffles": int(cell["n_shuffles"]) if "n_shuffles" in cell else math.nan,
                    "theirs_n_shuffles": math.nan if thesis_row is None else float(thesis_row["n_shuffles"]),
                    "settings": cell.get("settings", ""),
                })
    card = pd.DataFrame.from_records(records, columns=list(CARD_COLUMNS))
    card["agrees"] = card["agrees"].astype("boolean")
    return card


def random_init_scorecard(random_init: pd.DataFrame, ranges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our random-initialisation n-cuts per architecture against the thesis's ranges.

    ``random_init`` has columns ``arch, ncut`` (and optionally ``dataset``, ``k``);
    only k = 12 rows are compared (the thesis's setting), other k are listed
    with empty thesis columns.  ``ranges`` defaults to
    :func:`~nnstructure.report.reference.load_random_init_ranges` and is matched
    on ``arch`` alone (an untrained network's n-cut depends on the data only
    through the input shape).  ``agrees`` is whether our mean lies in the
    thesis range; ``frac_in_range`` is the share of our networks inside it.
    """
    missing = [c for c in ("arch", "ncut") if c not in random_init.columns]
    if missing:
        raise ValueError(f"random-init table lacks column(s) {missing}; it needs one row per network with arch and ncut")
    ranges = load_random_init_ranges() if ranges is None else ranges
    by_arch = ranges.set_index("arch")
    df = random_init.copy()
    if "k" not in df.columns:
        df["k"] = 12
    if "dataset" not in df.columns:
        df["dataset"] = ""
    records = []
    for (arch, dataset, k), group in df.groupby(["arch", "dataset", "k"], sort=True):
        ncut = group["ncut"].astype(float).dropna()
        record = {"arch": arch, "dataset": dataset, "k": int(k), "n_networks": len(ncut),
                  "ours_min": ncut.min(), "ours_mean": ncut.mean(), "ours_max": ncut.max(),
                  "figure": "", "theirs_n_networks": math.nan, "theirs_min": math.nan, "theirs_max": math.nan,
                  "frac_in_range": math.nan, "agrees": pd.NA}
        if arch in by_arch.index and int(k) == 12:
            ref = by_arch.loc[arch]
            lo, hi = float(ref["ncut_min"]), float(ref["ncut_max"])
            record.update(figure=ref["figure"], theirs_n_networks=float(ref["n_networks"]), theirs_min=lo,
                          theirs_max=hi, frac_in_range=float(((ncut >= lo) & (ncut <= hi)).mean()),
                          agrees=bool(lo <= ncut.mean() <= hi))
        records.append(record)
    card = pd.DataFrame.from_records(records)
    if len(card):
        card["agrees"] = card["agrees"].astype("boolean")
    return card


# --------------------------------------------------------------------------- Markdown


def _fmt(value, digits: int = 3) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{float(value):.{digits}f}"


def _condition(row: pd.Series) -> str:
    parts = [row["arch"], row["dataset"], row["reg"], "pruned" if row["pruned"] else "unpruned"]
    if row["init"] != "glorot":
        parts.append(f"{row['init']} init")
    if int(row["k"]) != 12:
        parts.append(f"k={int(row['k'])}")
    if row["epochs_variant"] != "default":
        parts.append(row["epochs_variant"])
    if row.get("shuffle", "layer") not in ("layer", "", None):
        parts.append(f"{row['shuffle']} shuffle")
    return " ".join(str(p) for p in parts)


def _markdown_table(df: pd.DataFrame) -> str:
    from nnstructure.report.tables import to_markdown

    return to_markdown(df)


def scorecard_markdown(card: pd.DataFrame, random_init_card: pd.DataFrame | None = None,
                       settings_note: str | None = None) -> str:
    """Render a :func:`scorecard` (and optionally a :func:`random_init_scorecard`) as Markdown.

    Opens with a paragraph saying what was compared, at which settings and by
    which criteria; then per-metric agreement counts; the matched comparisons;
    our unmatched cells; and the random-initialisation comparison.
    """
    matched = card[card["table"] != ""]
    unmatched = card[card["table"] == ""]
    cells = card.drop_duplicates([c for c in ("experiment", *MATCH_KEYS, "shuffle") if c in card.columns])
    n_cells = len(cells)
    n_matched_cells = len(matched.drop_duplicates([c for c in ("experiment", *MATCH_KEYS, "shuffle") if c in card]))
    tables = sorted(set(matched["table"]), key=_table_order)
    settings = sorted({s for s in card.get("settings", pd.Series(dtype=str)).fillna("") if s})
    shuffles_ours = sorted({int(n) for n in card["ours_n_shuffles"].dropna()})
    lines = ["# Reproduction scorecard: chapter 3 (clusterability)", ""]
    header = (
        f"We compared {n_cells} summarised cells of ours with the thesis's published tables; "
        f"{n_matched_cells} matched at least one thesis row (on arch, dataset, regulariser, pruning, "
        f"initialisation, k and epochs variant; layer shuffles only), covering "
        f"{', '.join(tables) if tables else 'no tables'}. "
        f"Our cells used {', '.join(map(str, shuffles_ours)) or 'no'} shuffles per network "
        f"(the thesis: 50, 320 for Tables 3.7-3.10, 100 for A.7)"
    )
    if settings:
        header += f" and training settings: {'; '.join(settings)}"
    header += "."
    if settings_note:
        header += f" {settings_note.strip()}"
    header += (
        " Agreement: n-cut values within 2 thesis shuffle s.d. (or 2 s.d. over networks where the table has no"
        " shuffle statistics); spreads within a factor of 2; the share of networks beating all shuffles on the same"
        " side of one half; p-values on the same side of 0.05; accuracies within 0.01; losses within"
        " max(0.01, 25%). Shortened presets train less and draw fewer shuffles than the thesis, so disagreement"
        " there is expected and is not by itself a failed reproduction."
    )
    lines += [header, ""]

    if len(matched):
        lines += ["## Agreement by metric", ""]
        by_metric = matched.groupby("metric", sort=False)["agrees"].agg(
            judged=lambda s: int(s.notna().sum()), agree=lambda s: int(s.fillna(False).sum()))
        order = {name: i for i, name in enumerate(METRICS)}
        by_metric = by_metric.reset_index().sort_values("metric", key=lambda m: m.map(order))
        lines.append(_markdown_table(by_metric.rename(columns={"metric": "Metric", "judged": "Compared",
                                                               "agree": "Agree"})))
        lines += ["## Matched cells", ""]
        shown = pd.DataFrame({
            "Table": matched["table"],
            "Cell": matched.apply(_condition, axis=1),
            "Metric": matched["metric"],
            "Ours": matched["ours"].map(_fmt),
            "Thesis": matched["theirs"].map(_fmt),
            "Diff": matched["diff"].map(_fmt),
            "Diff / s.d.": matched["diff_in_shuffle_sd"].map(lambda v: _fmt(v, 1)),
            "Agrees": matched["agrees"].map(format_tick),
            "Networks (ours/thesis)": [f"{int(a)}/{int(b)}" for a, b in zip(matched["ours_n_networks"],
                                                                           matched["theirs_n_networks"])],
        })
        shown = shown.iloc[sorted(range(len(shown)), key=lambda i: _table_order(shown["Table"].iloc[i]))]
        lines.append(_markdown_table(shown))
    if len(unmatched):
        lines += ["## Cells of ours without a thesis row", ""]
        wide = unmatched.pivot_table(index=[c for c in ("experiment", *MATCH_KEYS, "shuffle") if c in unmatched],
                                     columns="metric", values="ours", aggfunc="first").reset_index()
        shown = pd.DataFrame({"Cell": wide.apply(_condition, axis=1)})
        for metric in ("ncut", "shuffle_mean", "frac_beat_all", "test_accuracy"):
            if metric in wide:
                shown[metric] = wide[metric].map(_fmt)
        lines.append(_markdown_table(shown))
    if random_init_card is not None and len(random_init_card):
        lines += ["## Random initialisation (thesis Figures A.1-A.3)", ""]
        shown = pd.DataFrame({
            "Arch.": random_init_card["arch"],
            "Dataset": random_init_card["dataset"],
            "k": random_init_card["k"],
            "Networks": random_init_card["n_networks"],
            "Ours (min-mean-max)": [f"{_fmt(a)} - {_fmt(b)} - {_fmt(c)}" for a, b, c in zip(
                random_init_card["ours_min"], random_init_card["ours_mean"], random_init_card["ours_max"])],
            "Thesis range": [f"{_fmt(a, 2)} - {_fmt(b, 2)}" if not pd.isna(a) else "" for a, b in zip(
                random_init_card["theirs_min"], random_init_card["theirs_max"])],
            "In range": random_init_card["frac_in_range"].map(lambda v: _fmt(v, 2)),
            "Mean in range": random_init_card["agrees"].map(format_tick),
        })
        lines.append(_markdown_table(shown))
    return "\n".join(lines).rstrip() + "\n"


def _table_order(label: str) -> tuple[int, int]:
    if not label:
        return (2, 0)
    prefix, _, number = label.partition(".")
    return (0 if prefix == "3" else 1, int(number) if number.isdigit() else 0)


# --------------------------------------------------------------------------- Coverage

#: Why a thesis number has no comparison in a run (the coverage line's order).
NOT_RUN_GPU = "GPU"
NOT_RUN_DATA = "no data here"
NOT_RUN_LEFT_OUT = "left out"
NOT_RUN_REASONS: tuple[str, ...] = (NOT_RUN_GPU, NOT_RUN_DATA, NOT_RUN_LEFT_OUT)

#: The metric name of the random-initialisation rows of chapter 3's generic card (one per thesis figure range).
RANDOM_INIT_METRIC = "mean random-init n-cut"
COVERAGE_COLUMNS: tuple[str, ...] = ("chapter", "thesis_numbers", "compared", "within", "outside", "not_run",
                                     *(f"not_run_{reason}" for reason in NOT_RUN_REASONS))


def _not_run_reason(chapter: int, table: str, row: pd.Series) -> str:
    """Why a thesis number is not compared when no run made it: its network needs a GPU at the thesis's scale
    (VGG-16 on CIFAR-10, the items of :data:`~nnstructure.report.index.GPU_ITEMS`), ImageNet (no data here), or
    this preset left it out."""
    from nnstructure.report.index import DATA_ITEMS, GPU_ITEMS

    if f"Table {table}" in GPU_ITEMS or str(row.get("arch", "")) == "vgg" or "CIFAR-10" in str(row.get("network", "")):
        return NOT_RUN_GPU
    if (DATA_ITEMS.get(f"Table {table}") or str(row.get("dataset", "")) == "imagenet"
            or str(row.get("network", "")).endswith("ImageNet")):  # chapter 4's ImageNet rows need its images
        return NOT_RUN_DATA
    return NOT_RUN_LEFT_OUT


def thesis_numbers(references: dict[int, list[pd.DataFrame]] | None = None,
                   random_init_ranges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every number of the thesis a scorecard can compare, one row each: ``chapter, table, metric, value, reason``.

    ``references``: chapter -> its reference tables (default: every report chapter's, through
    :func:`nnstructure.report.engine.chapter_reference`). Chapter 3's rows become the metrics :func:`scorecard`
    compares (``frac_beat_all`` from ``n_beat_all / n_networks``, A.7's top-1 as ``test_accuracy``); other
    chapters' rows are one number each (``quantity`` where the table has one, else ``metric``), a number repeated
    in another table (B.1 repeating 4.1) counted once. ``random_init_ranges`` (default: Figures A.1-A.3) add one
    number per figure. ``reason`` is why the number would be missing from a run (:func:`_not_run_reason`);
    ``cell``, where not empty, is how a card row comparing with the number starts its ``cell`` (chapter 4:
    network, partitioning and k, as :func:`nnstructure.report.ch4.scorecard` writes them).
    """
    if references is None:
        from nnstructure.report.engine import CHAPTER_MODULES, chapter_reference, load_chapter

        references = {}
        for name in CHAPTER_MODULES:
            module = load_chapter(name)
            references.setdefault(int(module.CHAPTER), []).append(chapter_reference(module))
    records = []
    for chapter, frames in references.items():
        for ref in frames:
            if int(chapter) == 3:
                for _, row in ref.iterrows():
                    for metric, value in _metric_values(row, thesis=True).items():
                        if not math.isnan(value):
                            records.append({"chapter": 3, "table": str(row["table"]), "metric": metric, "value": value,
                                            "reason": _not_run_reason(3, str(row["table"]), row), "cell": ""})
                continue
            metric_column = "quantity" if "quantity" in ref.columns else "metric"
            identity = [c for c in ref.columns if c not in ("table", "note")]
            for _, row in ref.drop_duplicates(identity).iterrows():
                value = pd.to_numeric(row["value"], errors="coerce")
                if pd.isna(value):
                    continue
                records.append({"chapter": int(chapter), "table": str(row["table"]), "metric": str(row[metric_column]),
                                "value": float(value), "reason": _not_run_reason(int(chapter), str(row["table"]), row),
                                "cell": _chapter4_cell(row) if int(chapter) == 4 else ""})
    ranges = load_random_init_ranges() if random_init_ranges is None else random_init_ranges
    for _, row in ranges.iterrows():
        records.append({"chapter": 3, "table": str(row["figure"]), "metric": RANDOM_INIT_METRIC, "value": math.nan,
                        "reason": _not_run_reason(3, "", row), "cell": ""})
    return pd.DataFrame.from_records(records, columns=["chapter", "table", "metric", "value", "reason", "cell"])


def _chapter4_cell(row: pd.Series) -> str:
    """The network, partitioning and k of a chapter-4 thesis number as the chapter-4 scorecard's cells name them."""
    from nnstructure.report.ch4 import PARTITION_LABELS

    part = str(row["partitioning"])
    return f"{row['network']}|, {PARTITION_LABELS.get(part, part)}, k={int(row['k'])}: "


def _cell_matches(pattern: str, cell: str) -> bool:
    """``pattern`` is "" (any cell) or "<network>|<middle>": the cell starts with the network, followed by
    its condition in parentheses or directly by the middle part."""
    if not pattern:
        return True
    network, _, middle = pattern.partition("|")
    if not cell.startswith(network):
        return False
    rest = cell[len(network):]
    if rest.startswith(" ("):
        rest = rest[rest.find(")") + 1:]
    return rest.startswith(middle)


def _value_key(value) -> object:
    return round(float(value), 9) if value is not None and not pd.isna(value) else None


def coverage(card: pd.DataFrame, numbers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per chapter, how much of the thesis a combined scorecard covers (one row each, :data:`COVERAGE_COLUMNS`).

    * ``compared``: comparisons with a verdict (``agrees`` not empty); ``within`` agree by their criterion
      (n-cuts within 2 thesis shuffle s.d., effect measures within 2 combined standard errors, the other
      criteria of each chapter's scorecard), ``outside`` do not.
    * ``not_run``: thesis numbers (:func:`thesis_numbers`) that no row of the card compares with, split by
      reason (``not_run_GPU``, ``not_run_no data here``, ``not_run_left out``).

    A thesis number counts as compared when a card row of its chapter has its metric and value (and, in
    chapter 4, its network, partitioning and k), matched first within its table, then through a card row
    whose table label the thesis's numbers do not use for that metric (chapter 5's scorecards label
    "5.3-text" as "5.3"); a random-initialisation range when the card has that figure's row. Several
    comparisons of one number (both class-range definitions against the thesis's one) cover it once.
    """
    numbers = thesis_numbers() if numbers is None else numbers
    card = card.copy()
    card["agrees"] = card["agrees"].astype("boolean")
    rows = []
    for chapter in sorted(set(numbers["chapter"].astype(int)) | set(card["chapter"].astype(int))):
        mine = card[card["chapter"].astype(int) == chapter]
        judged = mine[mine["agrees"].notna()]
        theirs = numbers[numbers["chapter"].astype(int) == chapter]
        # the comparisons available to cover thesis numbers: [table, metric, value, cell, unused]
        available = []
        for _, r in mine.iterrows():
            random_init = str(r["metric"]) == RANDOM_INIT_METRIC
            value = None if random_init else _value_key(r["theirs"])
            if value is None and not random_init:
                continue
            available.append([str(r["table"]), str(r["metric"]), value, str(r.get("cell", "")), True])

        def take(number, same_table: bool) -> bool:
            value = None if str(number["metric"]) == RANDOM_INIT_METRIC else _value_key(number["value"])
            for entry in available:
                table, metric, entry_value, cell, unused = entry
                if not unused or metric != str(number["metric"]) or entry_value != value:
                    continue
                if (table == str(number["table"])) != same_table or (not same_table and (table, metric) in thesis_labels):
                    continue
                if _cell_matches(str(number.get("cell", "") or ""), cell):
                    entry[4] = False
                    return True
            return False

        # first within the number's table; then through a card row filed under a label the thesis's numbers do
        # not use for that metric ("5.3" for "5.3-text"), never a surplus comparison under a thesis label
        thesis_labels = {(str(t), str(m)) for t, m in zip(theirs["table"], theirs["metric"])}
        uncovered = [r for _, r in theirs.iterrows() if not take(r, same_table=True)]
        still = [r for r in uncovered if not take(r, same_table=False)]
        reasons = pd.Series([r["reason"] for r in still], dtype=str)
        rows.append({
            "chapter": chapter, "thesis_numbers": len(theirs), "compared": len(judged),
            "within": int(judged["agrees"].astype(bool).sum()), "outside": int((~judged["agrees"].astype(bool)).sum()),
            "not_run": len(still), **{f"not_run_{reason}": int((reasons == reason).sum()) for reason in NOT_RUN_REASONS},
        })
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))


def coverage_line(row: pd.Series | dict) -> str:
    """One chapter's coverage as a sentence, e.g. ``Chapter 3: 52 compared, 40 within, 12 outside; 700 of the
    thesis's 760 numbers not run (120 GPU, 30 no data here, 550 left out).``"""
    reasons = ", ".join(f"{int(row[f'not_run_{reason}'])} {reason}" for reason in NOT_RUN_REASONS)
    return (f"Chapter {int(row['chapter'])}: {int(row['compared'])} compared, {int(row['within'])} within, "
            f"{int(row['outside'])} outside; {int(row['not_run'])} of the thesis's {int(row['thesis_numbers'])} "
            f"numbers not run ({reasons}).")


def coverage_markdown(cov: pd.DataFrame) -> str:
    """The coverage lines as a Markdown section (for the combined scorecard), with what the counts mean."""
    lines = ["## Coverage", "",
             "Compared: our comparisons with a verdict; within: those that agree by their criterion (n-cuts within "
             "2 thesis shuffle s.d., effect measures within 2 combined standard errors, the other criteria as listed "
             "below); not run: numbers of the thesis that no comparison of this run covers, and why (needs a GPU at "
             "the thesis's scale, needs data not here, left out of this preset).", ""]
    lines += [f"- {coverage_line(row)}" for _, row in cov.iterrows()]
    return "\n".join(lines) + "\n"


def coverage_notes(card: pd.DataFrame, numbers: pd.DataFrame | None = None) -> dict[int, str]:
    """{chapter: its coverage line}: the ``notes`` of :func:`nnstructure.report.engine.combined_scorecard_markdown`,
    which prints each under its chapter's heading."""
    return {int(row["chapter"]): coverage_line(row) for _, row in coverage(card, numbers).iterrows()}
