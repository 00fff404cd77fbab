"""Small hand-made clusterability / shuffle / random-init tables for the report tests."""

import numpy as np
import pandas as pd

BASE = {"arch": "mlp", "dataset": "mnist", "init": "glorot", "k": 12, "n_shuffles": 50, "epochs_variant": "default",
        "experiment": "mlp-mnist", "n_init": 10, "kernel_norm": "l1", "fold_batchnorm": True,
        "epochs": 2, "prune_epochs": 1}


def clusterability_rows() -> pd.DataFrame:
    """Dropout MLP cell (3 seeds, pruned and unpruned, layer + nonzero shuffles) and an L1 cell (2 seeds)."""
    rows = []
    for i, seed in enumerate([0, 1, 2]):
        common = {**BASE, "reg": "dropout", "seed": seed, "train_accuracy": 0.96 + 0.01 * i,
                  "test_accuracy": 0.97, "train_loss": 0.1, "test_loss": np.nan, "n_nodes": 1800, "sparsity": 0.9}
        # pruned, layer shuffles: n-cuts 8.0, 8.2, 8.4; the third network does not beat all shuffles.
        rows.append({**common, "pruned": True, "shuffle": "layer", "ncut": 8.0 + 0.2 * i,
                     "shuffle_mean": 9.0 + 0.2 * i, "shuffle_std": 0.03 + 0.01 * i,
                     "shuffle_min": 8.9 + 0.2 * i if i < 2 else 8.3, "p_value": 1 / 51 if i < 2 else 3 / 51,
                     "z_score": -30.0})
        rows.append({**common, "pruned": True, "shuffle": "nonzero", "ncut": 8.0 + 0.2 * i,
                     "shuffle_mean": 8.5, "shuffle_std": 0.1, "shuffle_min": 8.1 + 0.2 * i,
                     "p_value": 1 / 51, "z_score": -5.0})
        # unpruned: 10.0, 10.1, 10.2
        rows.append({**common, "pruned": False, "shuffle": "layer", "ncut": 10.0 + 0.1 * i,
                     "shuffle_mean": 10.3, "shuffle_std": 0.11, "shuffle_min": 10.05 + 0.1 * i,
                     "p_value": 1 / 51, "z_score": -3.0})
    for i, seed in enumerate([0, 1]):
        rows.append({**BASE, "reg": "l1", "seed": seed, "pruned": True, "shuffle": "layer", "ncut": 10.0 + i,
                     "shuffle_mean": 2.7, "shuffle_std": 0.3, "shuffle_min": 2.0, "p_value": 1.0, "z_score": 20.0,
                     "train_accuracy": 0.99, "test_accuracy": 0.98, "train_loss": 0.05, "test_loss": 0.07,
                     "n_nodes": 900, "sparsity": 0.9})
    return pd.DataFrame(rows)


def shuffle_rows(rows: pd.DataFrame, n: int = 50, seed: int = 0) -> pd.DataFrame:
    """Normal shuffled n-cuts around each row's shuffle mean / s.d. (pruned dropout cell only)."""
    rng = np.random.default_rng(seed)
    keys = ["experiment", "arch", "dataset", "reg", "pruned", "init", "k", "n_shuffles", "epochs_variant", "seed", "shuffle"]
    frames = []
    for _, row in rows[(rows.reg == "dropout") & rows.pruned].iterrows():
        frame = pd.DataFrame({"index": np.arange(n), "ncut": rng.normal(row.shuffle_mean, row.shuffle_std, n)})
        for key in keys:
            frame[key] = row[key]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def random_init_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mlp = pd.DataFrame({"arch": "mlp", "dataset": "mnist", "seed": range(40), "k": 12, "ncut": rng.normal(10.3, 0.04, 40)})
    cnn = pd.DataFrame({"arch": "cnn", "dataset": "mnist", "seed": range(30), "k": 12, "ncut": rng.normal(10.5, 0.02, 30)})
    return pd.concat([mlp, cnn], ignore_index=True)


def single_row(frame: pd.DataFrame, **keys) -> pd.Series:
    """The one row of ``frame`` whose columns equal ``keys`` (fails unless exactly one matches)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in keys.items():
        mask &= frame[column] == value
    rows = frame[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def capture_figures(monkeypatch) -> dict:
    """Record every figure the code saves from now on, by file stem (``fig_4_3``), as the matplotlib Figure it drew.

    The figures are still written (through the real ``save_figure``); the tests
    read back what was drawn (axes, lines, bars, images, texts) from the
    Figure objects. Modules that imported ``save_figure`` by name get the
    recording one too.
    """
    import importlib
    import pkgutil
    import sys
    from pathlib import Path

    import nnstructure.report
    from nnstructure import io

    # every report module imported now, so none binds the recording function for good by being imported while
    # it is in place (a module first imported inside a test that captures)
    for info in pkgutil.iter_modules(nnstructure.report.__path__):
        importlib.import_module(f"nnstructure.report.{info.name}")
    real = io.save_figure
    drawn = {}

    def save_figure(fig, path, **kwargs):
        drawn[Path(path).stem] = fig
        real(fig, path, **kwargs)

    monkeypatch.setattr(io, "save_figure", save_figure)
    for name, module in list(sys.modules.items()):
        if name.startswith("nnstructure.") and getattr(module, "save_figure", None) is real:
            monkeypatch.setattr(module, "save_figure", save_figure)
    return drawn


def visible_axes(fig) -> list:
    """The axes of ``fig`` not switched off (``set_axis_off``: an unused panel, or an image shown without axes)."""
    return [ax for ax in fig.axes if ax.axison]


def bar_heights(ax) -> list[list[float]]:
    """The bar heights of every histogram (bar container) drawn on ``ax``, in drawing order."""
    return [[patch.get_height() for patch in container] for container in ax.containers
            if hasattr(container, "patches")]
