"""Chapter-3 figures (matplotlib Figure objects: no pyplot, no backend switch), written atomically.

Public API (signatures are stable; the workflow calls them):

* ``plot_ncut_vs_shuffles(rows, path)``: thesis Figures 3.2/3.3-style scatter of
  each network's n-cut (y) against its shuffles' mean n-cut (x, error bars =
  shuffle s.d.), one colour/marker per condition, each point labelled with its
  p-value, and the y = x diagonal (points below it beat their shuffles' mean).
* ``plot_figure_3_7(shuffles, rows, path)``: thesis Figure 3.7, one panel per
  network that has both shuffle kinds (:func:`figure_3_7_networks`): histogram +
  KDE of its layer and its topology-preserving (nonzero) shuffles' n-cuts, the
  realised n-cut as a black line.
* ``plot_random_init(random_init, path, reference_range=None)``: thesis
  Figures A.1-A.3-style density (histogram + Gaussian KDE) of random-init n-cuts
  per architecture, with the thesis range shaded when given.

``rows``/``shuffles``/``random_init`` follow the schemas in
:mod:`nnstructure.report.tables`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import matplotlib
from matplotlib.figure import Figure
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import gaussian_kde  # noqa: E402

from nnstructure.io import save_figure  # noqa: E402

_CONDITION_COLUMNS = ("arch", "dataset", "reg", "pruned", "init", "k", "epochs_variant", "shuffle")
_MARKERS = "osD^vP*Xh<>p"
_SHUFFLE_COLOURS = {"layer": "tab:blue", "nonzero": "tab:orange"}


def _condition_labels(rows: pd.DataFrame) -> pd.Series:
    """A short label per row from the condition columns that vary across ``rows``."""
    varying = [c for c in _CONDITION_COLUMNS if c in rows.columns and rows[c].nunique(dropna=False) > 1]
    if not varying:
        varying = [c for c in ("reg", "pruned") if c in rows.columns]

    def label(row: pd.Series) -> str:
        parts = []
        for column in varying:
            value = row[column]
            if column == "pruned":
                parts.append("pruned" if bool(value) else "unpruned")
            elif column == "k":
                parts.append(f"k={value}")
            elif column == "shuffle":
                parts.append(f"{value} shuffle")
            else:
                parts.append(str(value))
        return ", ".join(parts)

    return rows.apply(label, axis=1)


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; see nnstructure.report.tables for the schema")


def _wrapped(text: str, width: int = 110) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def plot_ncut_vs_shuffles(rows: pd.DataFrame, path: str | os.PathLike, heading: str | None = None) -> None:
    """Scatter each network's n-cut against its shuffle distribution (thesis Figs 3.2/3.3).

    Rows without shuffle statistics are skipped; if none remain the figure says so.
    ``heading``: a caption drawn above the plot (a thesis figure's id, title and how our run differs).
    """
    _require(rows, ("ncut", "shuffle_mean", "shuffle_std"), "clusterability rows")
    data = rows[rows["shuffle_mean"].notna()].copy()
    fig = Figure(figsize=(7.5, 6))
    ax = fig.subplots()
    if data.empty:
        ax.text(0.5, 0.5, "no networks with shuffle statistics", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        save_figure(fig, path)
        return
    data["_condition"] = _condition_labels(data)
    colours = matplotlib.colormaps["tab10"]
    for i, (condition, group) in enumerate(data.groupby("_condition", sort=True)):
        ax.errorbar(group["shuffle_mean"], group["ncut"], xerr=group["shuffle_std"], fmt=_MARKERS[i % len(_MARKERS)],
                    color=colours(i % 10), ecolor=colours(i % 10), elinewidth=1, capsize=3, markersize=6,
                    label=f"{condition} (n={len(group)})", alpha=0.85)
        if "p_value" in group:
            # Networks at the p-value floor 1/(n+1) (they beat every shuffle) all share one value; only
            # the others are labelled, so labels do not pile up (the title counts the floor ones).
            floor = 1.0 / (group["n_shuffles"].astype(float) + 1.0) if "n_shuffles" in group else np.nan
            for x, y, p, f in zip(group["shuffle_mean"], group["ncut"], group["p_value"],
                                  np.broadcast_to(floor, len(group))):
                if pd.notna(p) and not p <= f * (1 + 1e-9):
                    ax.annotate(f"{p:.2g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7,
                                color=colours(i % 10))
    lo = float(np.nanmin([data["ncut"].min(), (data["shuffle_mean"] - data["shuffle_std"].fillna(0)).min()]))
    hi = float(np.nanmax([data["ncut"].max(), (data["shuffle_mean"] + data["shuffle_std"].fillna(0)).max()]))
    pad = 0.05 * max(hi - lo, 1e-3)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", linestyle="--", linewidth=1, label="y = x")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("mean n-cut of shuffled networks (bars: s.d.)")
    ax.set_ylabel("n-cut of trained network")
    if "p_value" in data and "n_shuffles" in data:
        at_floor = data["p_value"] <= (1.0 / (data["n_shuffles"].astype(float) + 1.0)) * (1 + 1e-9)
        floors = sorted({f"{1.0 / (n + 1):.2g}" for n in data.loc[at_floor, "n_shuffles"].astype(int)})
        title = (f"Clusterability vs. shuffles: {int(at_floor.sum())} of {len(data)} networks beat all their shuffles\n"
                 f"(p at its floor 1/(n+1) = {', '.join(floors) or '-'}, unlabelled); other points labelled with p")
    else:
        title = "Clusterability vs. shuffles"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3)
    if heading:
        fig.suptitle(_wrapped(heading), fontsize=9, x=0.02, y=0.99, ha="left", va="bottom")
    save_figure(fig, path)


def _density(ax, values: np.ndarray, colour: str, label: str) -> None:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return
    ax.hist(values, bins=min(20, max(5, len(values) // 3)), density=True, color=colour, alpha=0.35,
            label=f"{label} (n={len(values)})")
    if len(values) > 1 and np.std(values) > 0:
        grid = np.linspace(values.min() - 3 * values.std(), values.max() + 3 * values.std(), 200)
        ax.plot(grid, gaussian_kde(values)(grid), color=colour, linewidth=1.5)


#: The shuffle kinds Figure 3.7 compares: every weight of a layer permuted, and only its non-zero weights
#: (the pruned topology kept).
FIGURE_3_7_KINDS = ("layer", "nonzero")
#: Columns that identify one network phase in the shuffles table (those present are used).
_NETWORK_COLUMNS = ("experiment", "condition", "arch", "dataset", "reg", "init", "pruned", "phase", "k", "seed")


def figure_3_7_networks(shuffles: pd.DataFrame) -> pd.DataFrame:
    """The networks Figure 3.7 draws: one row (their identifying columns) per network phase whose shuffles
    include both kinds of :data:`FIGURE_3_7_KINDS`, sorted by those columns."""
    _require(shuffles, ("seed", "ncut", "shuffle"), "shuffles table")
    keys = [c for c in _NETWORK_COLUMNS if c in shuffles.columns]
    kinds = shuffles.groupby(keys, dropna=False, sort=True)["shuffle"].agg(lambda s: set(s.astype(str)))
    both = kinds[kinds.map(lambda found: set(FIGURE_3_7_KINDS) <= found)]
    return both.index.to_frame(index=False)


def _matching(frame: pd.DataFrame, network: pd.Series) -> pd.DataFrame:
    """The rows of ``frame`` that belong to ``network`` (equal in every identifying column)."""
    mask = np.ones(len(frame), dtype=bool)
    for key, value in network.items():
        mask &= (frame[key] == value).to_numpy()
    return frame[mask]


def plot_figure_3_7(shuffles: pd.DataFrame, rows: pd.DataFrame, path: str | os.PathLike) -> None:
    """Thesis Figure 3.7: per network with both shuffle kinds, its layer and nonzero shuffles' n-cut
    distributions and its realised n-cut. Raises ``ValueError`` when no network has both kinds."""
    _require(rows, ("seed", "ncut"), "clusterability rows")
    networks = figure_3_7_networks(shuffles)
    if networks.empty:
        raise ValueError(f"no network has both {' and '.join(FIGURE_3_7_KINDS)} shuffles; Figure 3.7 needs an "
                         "analysis entry with shuffle: [layer, nonzero]")
    n = len(networks)
    ncols = min(n, 2 if n <= 4 else 3)
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(4.6 * ncols, 3.3 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    labels = _condition_labels(networks)
    for i, network in networks.iterrows():
        ax = axes[i // ncols][i % ncols]
        for kind in FIGURE_3_7_KINDS:
            mine = _matching(shuffles[shuffles["shuffle"] == kind], network)
            _density(ax, mine["ncut"].to_numpy(dtype=float), _SHUFFLE_COLOURS[kind], kind)
        realised = _matching(rows, network[[c for c in network.index if c in rows.columns]])
        for value in realised["ncut"].dropna().unique()[:1]:
            ax.axvline(float(value), color="black", linewidth=2, label=f"network ({value:.3f})")
        ax.set_title(f"{labels.iloc[i]}, seed {network['seed']}", fontsize=9)
        ax.set_xlabel("n-cut", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    fig.suptitle("Figure 3.7: n-cuts of networks (black) against their layer shuffles and their topology-preserving "
                 "(nonzero) shuffles", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_random_init(random_init: pd.DataFrame, path: str | os.PathLike,
                     reference_range: tuple[float, float] | Mapping[str, tuple[float, float]] | pd.DataFrame | None = None,
                     heading: str | None = None) -> None:
    """Density of random-initialisation n-cuts per architecture (thesis Figs A.1-A.3).

    ``reference_range`` shades the thesis's range: one ``(low, high)`` for every
    panel, a mapping ``arch -> (low, high)``, or the frame from
    :func:`~nnstructure.report.reference.load_random_init_ranges`.
    """
    _require(random_init, ("arch", "ncut"), "random-init table")
    if isinstance(reference_range, pd.DataFrame):
        reference_range = {r.arch: (r.ncut_min, r.ncut_max) for r in reference_range.itertuples()}
    archs = sorted(random_init["arch"].unique()) or ["(none)"]
    fig = Figure(figsize=(4.8 * len(archs), 3.6))
    axes = fig.subplots(1, len(archs), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        values = random_init.loc[random_init["arch"] == arch, "ncut"].to_numpy(dtype=float)
        if isinstance(reference_range, Mapping):
            span = reference_range.get(arch)
        else:
            span = reference_range
        if span is not None:
            ax.axvspan(span[0], span[1], color="tab:green", alpha=0.2,
                       label=f"thesis range {span[0]:.2f}-{span[1]:.2f}")
        _density(ax, values, "tab:blue", "ours")
        ax.set_title(f"{arch}: n-cuts of randomly initialised networks", fontsize=9)
        ax.set_xlabel("n-cut")
        ax.set_ylabel("density")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)  # below the bars
    if heading:
        fig.suptitle(_wrapped(heading, 60 * len(archs)), fontsize=8, x=0.02, y=0.99, ha="left", va="bottom")
    fig.tight_layout()
    save_figure(fig, path)


def plot_dataset_samples(datasets: list[str | os.PathLike], path: str | os.PathLike, label: int = 3, n: int = 8,
                         heading: str | None = None, seed: int = 0) -> None:
    """Thesis Figures 3.4 and 3.14: ``n`` training samples of class ``label`` from each dataset file (one row per
    dataset, named by it); two-channel images show channel 0 in blue and channel 1 in green, as the thesis."""
    from nnstructure.data.dataset import load_dataset
    from nnstructure.data.preview import to_rgb

    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(1.1 * n, 1.3 * len(datasets) + 0.6))
    axes = fig.subplots(len(datasets), n, squeeze=False)
    for row, file in zip(axes, datasets):
        ds = load_dataset(file)
        members = np.flatnonzero(ds.y_train == label)
        if not len(members):
            raise ValueError(f"dataset {ds.name} has no training sample of class {label}")
        for ax, i in zip(row, rng.choice(members, size=min(n, len(members)), replace=False)):
            ax.imshow(to_rgb(ds.x_train[i]), interpolation="nearest")
        for ax in row:
            ax.set_axis_off()
        row[0].set_title(ds.name, fontsize=8, loc="left")
    if heading:
        fig.suptitle(_wrapped(heading, 16 * n), fontsize=8, x=0.02, y=0.99, ha="left", va="bottom")
    save_figure(fig, path)
