"""Chapter 4 report: Tables 4.1-4.6, B.1, B.2, Figures 4.3 and 4.4, and the scorecard.

Inputs (aggregated Parquet tables of the workflow; any may be missing, the
tables and figures that need it are then skipped):

* ``specialization``: the combined statistics of ``nnstructure
  specialization-stats`` (one row per condition x partitioning x k x metric:
  ``network_label``, ``fisher``, ``p_value`` (Bates-combined), ``effect``,
  ``effect_se``, ``significant`` (Benjamini-Hochberg), ``n_networks``, ...).
* ``specialization_percentiles``: its ``--percentiles`` table (one row per
  true subcluster and metric) for Figure 4.3.
* ``specialization_images``: the ``--images`` tables of the visualisation jobs
  (true and random images as ``uint8`` bytes) for Figure 4.4.

The thesis's network names (``network_label``) come from the checkpoints
(``MLP, MNIST``, ``VGG, CIFAR-10`` or ``VGG, CIFAR-10 Unregularized``, ...).
Tables 4.1, 4.2, B.1 and B.2 use k = 16 (32 for ImageNet networks) where
present; Tables 4.3/4.4 every k of the regularised CIFAR-10 VGG; Tables
4.5/4.6 both CIFAR-10 VGGs at k = 16.

Class range: the thesis text defines the raw range of class-wise accuracy
drops; the original code divided it by the mean class-wise drop. Our tables
show both (``Class Range`` and ``Class Range (norm.)``); the scorecard
compares both with the thesis's single column, each row saying which.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.report.residuals import RESIDUAL_SD

CHAPTER = 4
REFERENCE_FILES = ("thesis_ch4.csv",)

PARTITION_ORDER = ("weight-network", "weight-layer", "act-network", "act-layer")
PARTITION_LABELS = {"weight-network": "Weight/Network", "weight-layer": "Weight/Layer",
                    "act-network": "Act./Network", "act-layer": "Act./Layer"}
NETWORK_ORDER = ("MLP, MNIST", "CNN, MNIST", "VGG, CIFAR-10", "VGG, CIFAR-10 Unregularized", "VGG-16, ImageNet",
                 "VGG-19, ImageNet", "ResNet-18, ImageNet")
LESION_COLUMNS = (("accuracy_drop", "Acc. Drop"), ("class_range", "Class Range"),
                  ("class_range_normalized", "Class Range (norm.)"))
VIS_COLUMNS = (("vis_score", "Vis Score"), ("softmax_entropy", "Softmax H"))
CLASS_RANGE_VARIANTS = {"class_range": "raw range (thesis text)",
                        "class_range_normalized": "range / mean class drop (original code)"}
REFERENCE_TABLE_PRIORITY = ("4.1", "4.2", "B.1", "B.2", "4.3", "4.4", "4.5", "4.6")
THESIS_CRITICAL_P = 0.025


def load_reference() -> pd.DataFrame:
    """The thesis's numbers of Tables 4.1-4.6, B.1, B.2 (long format; ``k`` int, ``value`` float)."""
    from nnstructure.report.reference import _read_package_csv

    ref = _read_package_csv("thesis_ch4.csv")
    return ref.assign(k=ref["k"].astype(int), value=ref["value"].astype(float))


def _main_k(label: str) -> int:
    return 32 if "ImageNet" in label else 16


def _network_sort_key(label: str) -> tuple:
    base = label.split(" [")[0]
    return (NETWORK_ORDER.index(base) if base in NETWORK_ORDER else len(NETWORK_ORDER), label)


def _display_names(stats: pd.DataFrame) -> pd.Series:
    """Thesis network label, with the condition name added when one label covers several conditions."""
    if "condition" not in stats.columns:
        return stats["network_label"].astype(str)
    per_label = stats.groupby("network_label")["condition"].nunique()
    return pd.Series([f"{lab} [{cond}]" if per_label[lab] > 1 else str(lab)
                      for lab, cond in zip(stats["network_label"], stats["condition"])], index=stats.index)


def _prepared(stats: pd.DataFrame) -> pd.DataFrame:
    df = stats.copy()
    df["network"] = _display_names(df)
    df["k"] = df["k"].astype(int)
    return df


def _fmt_fisher(row) -> str:
    if row is None or not np.isfinite(row["fisher"]):
        return ""
    text = f"{row['fisher']:.2f}"
    return f"**{text}**" if bool(row["significant"]) else text


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.0e}"


def _fmt_effect(row) -> str:
    if row is None or not np.isfinite(row["effect"]):
        return ""
    se = "nan" if not np.isfinite(row["effect_se"]) else f"{row['effect_se']:.3f}"
    text = f"{row['effect']:.3f} ± {se}"
    return f"**{text}**" if bool(row["effect_specialised"]) else text


def _lookup(df: pd.DataFrame) -> dict:
    return {(r["network"], r["partitioning"], int(r["k"]), r["metric"]): r for _, r in df.iterrows()}


def _rows_for(df: pd.DataFrame, networks_ks: list[tuple[str, int]], columns, cell, with_k: bool = False) -> pd.DataFrame:
    cells = _lookup(df)
    out = []
    for network, k in networks_ks:
        present = [p for p in PARTITION_ORDER if any((network, p, k, m) in cells for m, _ in columns)]
        for part in present:
            row = {"Network": network}
            if with_k:
                row["k"] = k
            row["Partitioning"] = PARTITION_LABELS[part]
            for metric, title in columns:
                row.update(cell(cells.get((network, part, k, metric)), title))
            out.append(row)
    return pd.DataFrame(out)


def _main_pairs(df: pd.DataFrame) -> list[tuple[str, int]]:
    """(network, k) of Tables 4.1/4.2/B.*: the main k where present, else every k (with k in the name)."""
    pairs = []
    for network in sorted(df["network"].unique(), key=_network_sort_key):
        ks = sorted(df.loc[df["network"] == network, "k"].unique())
        main = _main_k(network)
        pairs += [(network, main)] if main in ks else [(network, int(k)) for k in ks]
    return pairs


def build_tables(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Thesis-layout tables from the combined statistics (Markdown-ready strings, bold = significant)."""
    stats = inputs.get("specialization")
    if stats is None or stats.empty:
        return {}
    df = _prepared(stats)
    pairs = _main_pairs(df)
    all_columns = LESION_COLUMNS + VIS_COLUMNS
    fisher = lambda r, title: {title: _fmt_fisher(r)}
    effect = lambda r, title: {title: _fmt_effect(r)}
    both = lambda r, title: {f"{title}: Fisher stat.": _fmt_fisher(r), f"{title}: Effect meas.": _fmt_effect(r)}
    with_p = lambda r, title: {
        f"{title}: Fisher stat. (p)": "" if r is None else f"{_fmt_fisher(r)} ({_fmt_p(r['p_value'])})",
        f"{title}: Effect meas.": _fmt_effect(r),
    }
    tables = {
        "table_4_1": _rows_for(df, pairs, all_columns, fisher),
        "table_4_2": _rows_for(df, pairs, all_columns, effect),
        "table_b_1": _rows_for(df, pairs, LESION_COLUMNS, with_p),
        "table_b_2": _rows_for(df, pairs, VIS_COLUMNS, with_p),
    }
    vgg = "VGG, CIFAR-10"
    vgg_ks = sorted(df.loc[df["network"] == vgg, "k"].unique())
    if len(vgg_ks):
        tables["table_4_3"] = _rows_for(df, [(vgg, int(k)) for k in vgg_ks], LESION_COLUMNS, both, with_k=True)
        tables["table_4_4"] = _rows_for(df, [(vgg, int(k)) for k in vgg_ks], VIS_COLUMNS, both, with_k=True)
    unreg = f"{vgg} Unregularized"
    reg_pairs = [(n, 16) for n in (vgg, unreg) if ((df["network"] == n) & (df["k"] == 16)).any()]
    if len(reg_pairs) == 2:
        tables["table_4_5"] = _rows_for(df, reg_pairs, LESION_COLUMNS, both)
        tables["table_4_6"] = _rows_for(df, reg_pairs, VIS_COLUMNS, both)
    return {name: t.dropna(axis=1, how="all") for name, t in tables.items() if not t.empty}


_CAPTIONS = {
    "table_4_1": "Table 4.1: Fisher statistics (means over replicates); bold = significant after Benjamini-Hochberg",
    "table_4_2": "Table 4.2: effect measures ± standard errors; bold = more than two standard errors from 1 towards "
                 "specialisation (Acc. Drop, Class Range, Vis Score: > 1; Softmax H: < 1)",
    "table_4_3": "Table 4.3: lesion experiments in the CIFAR-10 VGG for each number of clusters k",
    "table_4_4": "Table 4.4: feature-visualisation experiments in the CIFAR-10 VGG for each number of clusters k",
    "table_4_5": "Table 4.5: lesion experiments in regularised and unregularised CIFAR-10 VGGs (k = 16)",
    "table_4_6": "Table 4.6: feature-visualisation experiments in regularised and unregularised CIFAR-10 VGGs (k = 16)",
    "table_b_1": "Table B.1: lesion experiments, mean Fisher statistic (Bates-combined p-value) and effect measure",
    "table_b_2": "Table B.2: feature-visualisation experiments, mean Fisher statistic (Bates-combined p-value) and effect measure",
}


def _settings_caption(stats: pd.DataFrame) -> str:
    parts = []
    reps = sorted({int(n) for n in stats["n_networks"]})
    parts.append(f"replicates per row: {', '.join(map(str, reps))}")
    for col, label in (("n_random", "random subclusters per true one"), ("random_pool", "random pool"),
                       ("vis_method", "visualisation"), ("vis_steps", "visualisation steps"), ("ties", "percentile ties")):
        if col in stats.columns:
            values = sorted({str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in stats[col].dropna()})
            if values:
                parts.append(f"{label}: {', '.join(values)}")
    crit = stats["bh_critical_p"].iloc[0]
    family = stats["bh_family_class_range"].iloc[0]
    crit_text = f"{crit:.2g}" if np.isfinite(crit) else "none (nothing significant)"
    parts.append(f"Benjamini-Hochberg at alpha = {stats['bh_alpha'].iloc[0]:g} over {int(stats['bh_n_tests'].iloc[0])} "
                 f"p-values (class range: {family}): critical p = {crit_text} (thesis: 0.025)")
    parts.append("Class Range = raw range of class-wise accuracy drops (thesis text); Class Range (norm.) = range divided "
                 "by the mean class-wise drop (original code)")
    return "; ".join(parts)


def tables_markdown(tables: dict[str, pd.DataFrame], settings: dict[str, str] | None = None,
                    stats: pd.DataFrame | None = None) -> dict[str, str]:
    """Markdown per table with a caption saying what was run (``stats``: the combined statistics, for the settings)."""
    from nnstructure.report.tables import to_markdown

    extra = _settings_caption(stats) if stats is not None and not stats.empty else ""
    out = {}
    for name, df in tables.items():
        caption = _CAPTIONS.get(name, name)
        if extra:
            caption += f". {extra}"
        if settings and name in settings:
            caption += f". {settings[name]}"
        out[name] = to_markdown(df, caption=caption + ".")
    return out


def build_figures(inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Figure 4.3 (percentile histograms with Fisher statistics) and 4.4 (true beside random visualisations)."""
    out_dir = Path(out_dir)
    figures = {}
    pct = inputs.get("specialization_percentiles")
    if pct is not None and not pct.empty:
        figures["fig_4_3"] = plot_percentile_histograms(pct, out_dir / "fig_4_3.png")
    images = inputs.get("specialization_images")
    if images is not None and not images.empty:
        figures["fig_4_4"] = plot_visualisations(images, out_dir / "fig_4_4.png")
    return figures


def plot_percentile_histograms(pct: pd.DataFrame, path: str | os.PathLike, metric: str | None = None) -> Path:
    """Histograms of one replicate's subcluster percentiles per condition (rows) and partitioning (columns)."""
    import matplotlib.pyplot as plt

    from nnstructure.io import save_figure
    from nnstructure.stats import fisher_statistic

    if metric is None:
        metric = "vis_score" if (pct["metric"] == "vis_score").any() else str(pct["metric"].iloc[0])
    data = pct[pct["metric"] == metric]
    conditions = sorted(data["condition"].unique()) if "condition" in data else [None]
    parts = [p for p in PARTITION_ORDER if p in set(data["partitioning"])]
    fig, axes = plt.subplots(len(conditions), len(parts), figsize=(3.2 * len(parts), 2.6 * len(conditions)),
                             squeeze=False, sharex=True)
    for i, cond in enumerate(conditions):
        rows = data if cond is None else data[data["condition"] == cond]
        for j, part in enumerate(parts):
            ax = axes[i, j]
            sel = rows[rows["partitioning"] == part]
            if sel.empty:
                ax.set_axis_off()
                continue
            k = _main_k(str(sel["network_label"].iloc[0])) if "network_label" in sel else None
            if k is not None and (sel["k"].astype(int) == k).any():
                sel = sel[sel["k"].astype(int) == k]
            replicate = sorted(sel["replicate"].astype(str).unique())[0]
            sel = sel[sel["replicate"].astype(str) == replicate]
            n = int(sel["n_random_subclusters"].iloc[0])
            ax.hist(sel["percentile"], bins=np.linspace(0, 1, n + 2), color="tab:blue", edgecolor="white")
            ax.set_title(f"{PARTITION_LABELS[part]}: Fisher {fisher_statistic(sel['percentile']):.2f}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{cond or ''}\n(replicate {replicate})\nsubclusters", fontsize=8)
            if i == len(conditions) - 1:
                ax.set_xlabel("percentile")
    fig.suptitle(f"Subcluster percentiles among random subclusters ({metric}; low = specialised)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    return Path(path)


def _decode(row) -> np.ndarray:
    img = np.frombuffer(row["image"], dtype=np.uint8).reshape(int(row["channels"]), int(row["height"]), int(row["width"]))
    return img


def plot_visualisations(images: pd.DataFrame, path: str | os.PathLike, per_network: int = 4) -> Path:
    """Per condition, ``per_network`` true subclusters' visualisations (left) beside a random one's (right).

    Greyscale-data networks (MNIST, Fashion-MNIST) are shown in grey (mean over colour channels), as the thesis does.
    """
    import matplotlib.pyplot as plt

    from nnstructure.io import save_figure

    conditions = sorted(images["condition"].unique()) if "condition" in images else [None]
    fig, axes = plt.subplots(per_network, 2 * len(conditions), figsize=(2.2 * len(conditions), 1.1 * per_network),
                             squeeze=False)
    for c, cond in enumerate(conditions):
        rows = images if cond is None else images[images["condition"] == cond]
        if "partitioning" in rows:
            part = next(p for p in PARTITION_ORDER + tuple(rows["partitioning"].unique()) if p in set(rows["partitioning"]))
            rows = rows[rows["partitioning"] == part]
        if "replicate" in rows:
            rows = rows[rows["replicate"].astype(str) == sorted(rows["replicate"].astype(str).unique())[0]]
        grey = "dataset" in rows and str(rows["dataset"].iloc[0]) in ("mnist", "fashion")
        true = rows[rows["is_true"]].head(per_network)
        for r, (_, t) in enumerate(true.iterrows()):
            rand = rows[(~rows["is_true"]) & (rows["layer"] == t["layer"]) & (rows["label"] == t["label"])]
            for side, row in enumerate([t, rand.iloc[0] if len(rand) else None]):
                ax = axes[r, 2 * c + side]
                ax.set_xticks([])
                ax.set_yticks([])
                if row is None:
                    continue
                img = _decode(row).astype(np.float32) / 255
                if grey or img.shape[0] == 1:
                    ax.imshow(img.mean(axis=0), cmap="gray", vmin=0, vmax=1)
                else:
                    ax.imshow(np.transpose(img, (1, 2, 0)))
                if r == 0:
                    ax.set_title(("true" if side == 0 else "random") + (f"\n{cond}" if side == 0 and cond else ""), fontsize=7)
                if side == 0:
                    ax.set_ylabel(f"layer {t['layer']}\nsize {int(t['size'])}", fontsize=6)
        for r in range(len(true), per_network):
            axes[r, 2 * c].set_axis_off()
            axes[r, 2 * c + 1].set_axis_off()
    fig.suptitle("Feature visualisations of true (left) and random (right) subclusters", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return Path(path)


def _reference_index(ref: pd.DataFrame) -> dict:
    """(network, partitioning, k, metric, quantity) -> (table, value), by table priority."""
    out = {}
    for table in REFERENCE_TABLE_PRIORITY:
        for _, r in ref[ref["table"] == table].iterrows():
            out.setdefault((r["network"], r["partitioning"], int(r["k"]), r["metric"], r["quantity"]), (table, float(r["value"])))
    return out


def scorecard(inputs: dict[str, pd.DataFrame], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our Fisher statistics, p-values and effect measures beside the thesis's.

    Criteria: a Fisher statistic agrees when our Benjamini-Hochberg conclusion
    matches the thesis's (its p <= 0.025); an effect measure agrees when the two
    differ by at most twice their combined standard error. p-values and standard
    errors are shown without a criterion. Both class-range definitions are
    compared with the thesis's Class Range column.
    """
    columns = ["chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"]
    stats = inputs.get("specialization")
    if stats is None or stats.empty:
        return pd.DataFrame(columns=columns)
    ref = load_reference() if reference is None else reference.assign(k=reference["k"].astype(int), value=reference["value"].astype(float))
    index = _reference_index(ref)
    out = []
    for _, r in stats.iterrows():
        label, part, k, metric = str(r["network_label"]), r["partitioning"], int(r["k"]), r["metric"]
        thesis_metric = "class_range" if metric in CLASS_RANGE_VARIANTS else metric
        title = {"accuracy_drop": "acc. drop", "vis_score": "vis score", "softmax_entropy": "softmax H"}.get(metric, "class range")
        variant = f" [{CLASS_RANGE_VARIANTS[metric]}]" if metric in CLASS_RANGE_VARIANTS else ""
        cell = f"{label}{' (' + str(r['condition']) + ')' if 'condition' in r else ''}, {PARTITION_LABELS.get(part, part)}, k={k}: {title}{variant}"
        note = f"{int(r['n_networks'])} replicates, {int(r['n_subclusters'])} subclusters"
        for col in ("vis_method", "random_pool", "ties"):
            if col in r and isinstance(r[col], str):
                note += f"; {col} {r[col]}"
        key = (label, part, k, thesis_metric)
        thesis_p = index.get(key + ("p_value",), (None, np.nan))[1]
        for quantity in ("fisher", "p_value", "effect", "effect_se"):
            table, theirs = index.get(key + (quantity,), ("", np.nan))
            ours = float(r[quantity])
            agrees, criterion, residual = None, "", np.nan
            if np.isfinite(theirs):
                if quantity == "fisher" and np.isfinite(thesis_p):
                    agrees = bool(r["significant"]) == bool(thesis_p <= THESIS_CRITICAL_P)
                    criterion = f"same Benjamini-Hochberg conclusion (thesis significant: p <= {THESIS_CRITICAL_P})"
                elif quantity == "effect":
                    theirs_se = index.get(key + ("effect_se",), ("", np.nan))[1]
                    se = np.sqrt(float(r["effect_se"]) ** 2 + theirs_se**2)
                    if np.isfinite(se):
                        agrees = bool(abs(ours - theirs) <= 2 * se)
                        criterion = "within 2 combined standard errors"
                        residual = (ours - theirs) / se if se > 0 else np.nan
            out.append({"chapter": CHAPTER, "table": table or "", "cell": cell, "metric": quantity, "ours": ours,
                        "theirs": theirs, "diff": ours - theirs if np.isfinite(theirs) else np.nan,
                        "agrees": agrees, "criterion": criterion, "note": note, RESIDUAL_SD: residual})
    return pd.DataFrame(out, columns=[*columns, RESIDUAL_SD])
