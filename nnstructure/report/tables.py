"""Summaries of per-network clusterability rows, rendered like the thesis's tables.

Input schema (one row per network and clustering setting, as the workflow's
``clusterability.parquet``): the key columns ``arch, dataset, reg, pruned,
init, k, n_shuffles, epochs_variant`` plus ``seed``, ``ncut`` and, where
available, ``experiment, condition, kind, shuffle, n_init, kernel_norm,
fold_batchnorm, shuffle_mean, shuffle_std, shuffle_min, p_value, z_score,
n_nodes, train_accuracy, test_accuracy, train_loss, test_loss, sparsity,
epochs, prune_epochs, settings``.

Public API (signatures are stable; the workflow calls them):

* ``summarize_clusterability(rows) -> DataFrame``: one row per cell, with the
  thesis's columns (see the function's docstring).
* ``thesis_style(summary) -> DataFrame``: the same cells as display strings
  ("9.247 ± 0.039", "5/5", "✓"/"×").
* ``to_markdown(df, columns=None, caption=None) -> str``: a Markdown table; a
  summary frame is passed through ``thesis_style`` first.
* ``format_mean_sd(mean, sd)``, ``format_count(n, total)``, ``format_tick(flag)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nnstructure.report.reference import KEY_COLUMNS

#: Columns that, when present, further split a summary cell (clustering settings and
#: the experiment that produced the rows).
OPTIONAL_GROUP_COLUMNS: tuple[str, ...] = (
    "experiment", "condition", "kind", "shuffle", "n_init", "kernel_norm", "fold_batchnorm",
)
_MEAN_COLUMNS: tuple[str, ...] = (
    "p_value", "z_score", "train_accuracy", "test_accuracy", "train_loss", "test_loss", "sparsity", "n_nodes",
)
SUMMARY_VALUE_COLUMNS: tuple[str, ...] = (
    "n_networks", "ncut", "ncut_std", "unpruned_ncut", "unpruned_ncut_std", "shuffle_mean", "shuffle_std",
    "n_beat_all", *_MEAN_COLUMNS, "settings",
)


def group_columns(rows: pd.DataFrame) -> list[str]:
    """The columns that identify one summary cell in ``rows`` (in a fixed order)."""
    extra = [c for c in OPTIONAL_GROUP_COLUMNS if c in rows.columns]
    head = [c for c in extra if c in ("experiment", "condition", "kind")]
    tail = [c for c in extra if c not in head]
    return [*head, *KEY_COLUMNS, *tail]


def _check_rows(rows: pd.DataFrame) -> None:
    required = [*KEY_COLUMNS, "seed", "ncut"]
    missing = [c for c in required if c not in rows.columns]
    if missing:
        raise ValueError(
            f"clusterability rows lack column(s) {missing}; they must carry the key columns "
            f"{list(KEY_COLUMNS)} plus 'seed' and 'ncut' (rerun the aggregation step that writes them)"
        )


def beats_all_shuffles(rows: pd.DataFrame) -> pd.Series:
    """Whether each network's n-cut is below all of its shuffles.

    With ``p = (1 + #{shuffles <= ncut}) / (1 + n_shuffles)`` that is exactly
    ``p == 1 / (n_shuffles + 1)``.  Rows without shuffles give ``False``.
    """
    if "p_value" not in rows.columns:
        return pd.Series(False, index=rows.index)
    n = rows["n_shuffles"].astype(float)
    floor = 1.0 / (n + 1.0)
    p = rows["p_value"].astype(float)
    return ((n > 0) & p.notna() & (p <= floor * (1 + 1e-9))).astype(bool)


def _settings_text(group: pd.DataFrame) -> str:
    parts: list[str] = []
    if "settings" in group.columns:
        parts += [str(s) for s in group["settings"].dropna().unique()]
    if "epochs" in group.columns:
        epochs = group["epochs"].dropna().unique()
        prune = group["prune_epochs"].dropna().unique() if "prune_epochs" in group.columns else []
        for e in epochs:
            text = f"{int(e)} epochs"
            if len(prune):
                text += " + " + "/".join(str(int(p)) for p in prune) + " pruning"
            parts.append(text)
    return "; ".join(dict.fromkeys(parts))


def summarize_clusterability(rows: pd.DataFrame) -> pd.DataFrame:
    """Summarise per-network rows into one row per experiment cell, like the thesis.

    Groups by the key columns plus whichever of :data:`OPTIONAL_GROUP_COLUMNS`
    exist (so layer and nonzero shuffles are summarised separately), and gives:

    * ``n_networks``: distinct seeds in the cell;
    * ``ncut`` / ``ncut_std``: mean and sample s.d. (``ddof=1``, NaN for one
      network) of the networks' n-cuts, the thesis's "mean ± s.d." over runs;
    * ``shuffle_mean`` / ``shuffle_std``: means over networks of each network's
      shuffle mean and shuffle s.d. (the thesis's "Dist. n-cuts");
    * ``n_beat_all``: networks more clusterable than all their shuffles
      (:func:`beats_all_shuffles`; the thesis's "Prop. p < 0.02" numerator);
    * means of ``p_value, z_score, train/test accuracy, train/test loss,
      sparsity, n_nodes`` where present (NaN entries are skipped);
    * for pruned cells, ``unpruned_ncut`` / ``unpruned_ncut_std`` from the
      matching ``pruned == False`` cell (same keys otherwise), as Tables 3.4-3.6;
    * ``settings``: training lengths / free-text settings found in the rows.

    Raises ``ValueError`` on missing key columns or a seed repeated within a cell.
    """
    _check_rows(rows)
    rows = rows.copy()
    rows["pruned"] = rows["pruned"].astype(bool)
    keys = group_columns(rows)
    duplicated = rows.duplicated([*keys, "seed"], keep=False)
    if duplicated.any():
        example = rows.loc[duplicated, [*keys, "seed"]].iloc[0].to_dict()
        raise ValueError(
            f"{int(duplicated.sum())} clusterability rows repeat a (cell, seed), e.g. {example}; "
            "each network must appear once per clustering setting (deduplicate the aggregated table)"
        )
    rows["_beats_all"] = beats_all_shuffles(rows)
    records = []
    for key_values, group in rows.groupby(keys, dropna=False, sort=True):
        record = dict(zip(keys, key_values))
        ncuts = group["ncut"].astype(float)
        record["n_networks"] = int(group["seed"].nunique())
        record["ncut"] = float(ncuts.mean())
        record["ncut_std"] = float(ncuts.std(ddof=1)) if len(ncuts) > 1 else math.nan
        for column in ("shuffle_mean", "shuffle_std"):
            record[column] = float(group[column].mean()) if column in group else math.nan
        record["n_beat_all"] = int(group["_beats_all"].sum())
        for column in _MEAN_COLUMNS:
            record[column] = float(group[column].astype(float).mean()) if column in group else math.nan
        record["settings"] = _settings_text(group)
        records.append(record)
    if not records:
        return pd.DataFrame(columns=[*keys, *SUMMARY_VALUE_COLUMNS])
    summary = _attach_unpruned(pd.DataFrame.from_records(records), keys)
    return summary[[*keys, *SUMMARY_VALUE_COLUMNS]].reset_index(drop=True)


def _attach_unpruned(summary: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    other = [k for k in keys if k != "pruned"]
    unpruned = summary.loc[~summary["pruned"], [*other, "ncut", "ncut_std"]]
    unpruned = unpruned.rename(columns={"ncut": "unpruned_ncut", "ncut_std": "unpruned_ncut_std"})
    # Merge on keys that may hold NaN: pandas matches NaN with NaN in merges.
    merged = summary.merge(unpruned, on=other, how="left", validate="many_to_one")
    merged.loc[~merged["pruned"], ["unpruned_ncut", "unpruned_ncut_std"]] = math.nan
    return merged


# --------------------------------------------------------------------------- rendering


def _decimals_for(sd: float) -> int:
    """Decimals the thesis uses beside a s.d.: two significant figures, 1 to 3 decimals."""
    if sd is None or not np.isfinite(sd) or sd <= 0:
        return 3
    sd = float(f"{sd:.2g}")  # round first so 0.0999999 counts as 0.10
    return int(min(3, max(1, 1 - math.floor(math.log10(sd)))))


def format_mean_sd(mean: float, sd: float) -> str:
    """``"9.247 ± 0.039"``; the precision follows the s.d. (``"10.30 ± 0.11"``); ``""`` for NaN mean."""
    if mean is None or not np.isfinite(mean):
        return ""
    if sd is None or not np.isfinite(sd):
        return f"{mean:.3f}"
    d = _decimals_for(sd)
    return f"{mean:.{d}f} ± {sd:.{d}f}"


def format_count(n, total) -> str:
    """``"5/5"``; ``""`` when either part is missing."""
    if n is None or total is None or pd.isna(n) or pd.isna(total):
        return ""
    return f"{int(n)}/{int(total)}"


def format_tick(flag) -> str:
    """The thesis's ✓ / × for a boolean."""
    if flag is None or pd.isna(flag):
        return ""
    return "✓" if bool(flag) else "×"


def _format_value(value, decimals: int = 3) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{float(value):.{decimals}f}"


_DISPLAY_KEYS = {
    "experiment": "Experiment", "condition": "Condition", "kind": "Kind", "arch": "Arch.", "dataset": "Dataset",
    "reg": "Reg. method", "init": "Init.", "k": "k", "n_shuffles": "Shuffles", "epochs_variant": "Epochs",
    "shuffle": "Shuffle", "n_init": "k-means starts", "kernel_norm": "Kernel norm", "fold_batchnorm": "Fold BN",
}


def thesis_style(summary: pd.DataFrame, keep_constant_keys: bool = False) -> pd.DataFrame:
    """Render a :func:`summarize_clusterability` frame as thesis-style display strings.

    Key columns that take a single value across the frame are dropped (unless
    ``keep_constant_keys``), as are value columns that are empty everywhere.
    The "N-cut" column is "mean ± s.d. over networks" when there are several
    networks; its precision follows the "Dist. n-cuts" s.d. otherwise.
    """
    out = pd.DataFrame(index=summary.index)
    for column, label in _DISPLAY_KEYS.items():
        if column in summary.columns and (keep_constant_keys or summary[column].nunique(dropna=False) > 1):
            out[label] = summary[column].astype(str)
    out["Pruning?"] = summary["pruned"].map(format_tick)
    out["Networks"] = summary["n_networks"].astype(int).astype(str)
    if "unpruned_ncut" in summary:
        out["Unp. n-cuts"] = [format_mean_sd(m, s) for m, s in zip(summary["unpruned_ncut"], summary["unpruned_ncut_std"])]
    ncut = []
    for m, s, shuffle_sd in zip(summary["ncut"], summary["ncut_std"], summary["shuffle_std"]):
        if np.isfinite(s):
            ncut.append(format_mean_sd(m, s))
        else:
            ncut.append(_format_value(m, _decimals_for(shuffle_sd)))
    out["N-cut"] = ncut
    out["Dist. n-cuts"] = [format_mean_sd(m, s) for m, s in zip(summary["shuffle_mean"], summary["shuffle_std"])]
    has_shuffles = summary["shuffle_mean"].notna()
    out["Beat all shuffles"] = [
        format_count(n, t) if has else "" for n, t, has in zip(summary["n_beat_all"], summary["n_networks"], has_shuffles)
    ]
    if "p_value" in summary:
        out["Mean p"] = [_format_value(p, 3) for p in summary["p_value"]]
    for column, label in (("train_accuracy", "Train acc."), ("test_accuracy", "Test acc."),
                          ("train_loss", "Train loss"), ("test_loss", "Test loss")):
        if column in summary:
            out[label] = [_format_value(v, 3) for v in summary[column]]
    if "settings" in summary:
        out["Settings"] = summary["settings"].fillna("").astype(str)
    empty = [c for c in out.columns if (out[c] == "").all()]
    return out.drop(columns=empty).reset_index(drop=True)


def _pipe_table(df: pd.DataFrame) -> str:
    """A GitHub-style pipe table (used when ``tabulate`` is not installed)."""
    header = [str(c) for c in df.columns]
    body = [["" if pd.isna(v) else str(v).replace("|", "\\|") for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def to_markdown(df: pd.DataFrame, columns: Sequence[str] | None = None, caption: str | None = None) -> str:
    """Render ``df`` as a Markdown table, with an optional caption below it.

    A :func:`summarize_clusterability` frame (it has ``n_networks`` and ``ncut``)
    is converted with :func:`thesis_style` first; ``columns`` then selects display
    columns by their labels (e.g. ``["Reg. method", "Pruning?", "N-cut"]``).
    Uses pandas' ``to_markdown`` when ``tabulate`` is installed, else a small
    built-in pipe-table renderer (same cells, plainer spacing).
    """
    if {"n_networks", "ncut"} <= set(df.columns):
        df = thesis_style(df)
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the table; available: {list(df.columns)}")
        df = df[list(columns)]
    try:
        import tabulate  # noqa: F401

        text = df.to_markdown(index=False, disable_numparse=True)
    except ImportError:
        text = _pipe_table(df)
    if caption:
        text += f"\n\n{caption}"
    return text + "\n"
