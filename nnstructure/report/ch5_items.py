"""Chapter 5's thesis figures made from the workflow's data rather than its tables, under their thesis names.

* Figure 5.1, examples of CoinRun transitions: from a CoinRun transition dataset's
  shards, the observation and next observation of one transition with reward 10
  and one with reward 0 (:func:`plot_coinrun_transitions`);
* Figure 5.2, an observation from Heist: the first observation of a Heist level,
  rendered by the game (:func:`plot_heist_observation`; no Heist dataset is needed);
* Figures 5.16, 5.17 and C.8-C.13: Table 5.2's edited transitions (the edit
  step's ``<dataset>-edits/edited_transitions.npz``), drawn under the thesis's
  names (``fig_5_16.png``, ``fig_c_8.png``) with the thesis's captions and how ours
  were made;
* Figures C.14-C.21: the appendix's further edits of the same transitions with
  our nets' predictions (:mod:`nnstructure.reward.appendix_edits`).

The chapter-5 report (:mod:`nnstructure.report.ch5`) calls :func:`build_item_figures`
with its path inputs: ``transition_paths`` (each dataset's ``transitions.parquet``),
``edits_paths`` (each edited-transitions folder) and ``appendix_edits_paths`` (each
folder of Figures C.14-C.21's edits), tables with a ``path`` column, and the
``appendix_predictions`` table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.io import read_parquet, save_figure
from nnstructure.report.index import EDIT_FIGURES  # Table 5.2's edited transitions each figure draws

#: The level Figure 5.2's Heist observation is rendered from.
HEIST_LEVEL = 0


def _paths(inputs: dict, name: str) -> list[Path]:
    table = inputs.get(name)
    return [] if table is None or not len(table) else [Path(p) for p in table["path"]]


def _example_rows(table: pd.DataFrame, seed: int) -> tuple[pd.Series, pd.Series]:
    """One kept transition with reward 10 and one with reward 0, chosen with ``seed``."""
    kept = table[table["kept"]] if "kept" in table.columns else table
    rng = np.random.default_rng(seed)
    out = []
    for rewarded in (True, False):
        rows = kept[(kept["reward"] > 0) == rewarded]
        if rows.empty:
            raise ValueError(f"the dataset has no kept transition with reward {'10' if rewarded else '0'}; "
                             "Figure 5.1 shows one of each (generate more episodes)")
        out.append(rows.iloc[int(rng.integers(len(rows)))])
    return out[0], out[1]


def plot_coinrun_transitions(transitions_table: str | os.PathLike, path: str | os.PathLike, seed: int = 0) -> Path:
    """Figure 5.1: the observation and next observation of a rewarded and of an unrewarded CoinRun transition of
    the dataset whose ``transitions.parquet`` is ``transitions_table`` (frames from its shards)."""
    from matplotlib.figure import Figure

    from nnstructure.reward.transitions import read_shard_frames, shard_frames_path

    dataset = Path(transitions_table).parent
    table = read_parquet(transitions_table)
    if (table["game"] != "coinrun").any():
        raise ValueError(f"{dataset} is not a CoinRun dataset; Figure 5.1 shows CoinRun transitions")
    examples = _example_rows(table, seed)
    fig = Figure(figsize=(8.4, 2.9))
    axes = fig.subplots(1, 4)
    letters = iter("abcd")
    for row in examples:
        frames = read_shard_frames(shard_frames_path(dataset, int(row["shard"])))
        reward = f"{float(row['reward']):g}"
        for ax, (frame, what) in zip(axes[0:2] if float(row["reward"]) > 0 else axes[2:4],
                                     ((row["obs_frame"], "Observation"), (row["next_obs_frame"], "Next observation"))):
            ax.imshow(frames[int(frame)], interpolation="nearest")
            ax.set_title(f"({next(letters)}) {what} of a\ntransition with reward {reward}", fontsize=8)
            ax.set_axis_off()
    fig.suptitle(f"Figure 5.1: Examples of CoinRun transitions. Ours: dataset {dataset.name} "
                 f"(episode {int(examples[0]['episode'])} reaches the coin)", fontsize=9)
    save_figure(fig, path)
    return Path(path)


def plot_heist_observation(path: str | os.PathLike, distribution_mode: str = "hard", level: int = HEIST_LEVEL) -> Path:
    """Figure 5.2: the first observation of Heist level ``level``, rendered by procgen."""
    from matplotlib.figure import Figure

    from nnstructure.reward.env import GameEnv

    frame = GameEnv("heist", distribution_mode, level).obs
    fig = Figure(figsize=(3.6, 4.0))
    ax = fig.subplots()
    ax.imshow(frame, interpolation="nearest")
    ax.set_axis_off()
    fig.suptitle(f"Figure 5.2: An observation from Heist.\nOurs: the first frame of level {level} "
                 f"({distribution_mode} mode), rendered by procgen", fontsize=8)
    save_figure(fig, path)
    return Path(path)


def plot_edit_figures(edits_dir: Path, out_dir: Path, suffix: str = "") -> dict[str, Path]:
    """Figures 5.16, 5.17 and C.8-C.13 from the edit step's ``edited_transitions.npz``: the observation and next
    observation of each transition of the figure's variant, captioned with the thesis id and how ours were made."""
    from nnstructure.report.ch3_items import item_stem
    from nnstructure.report.index import load_thesis_items
    from nnstructure.reward.visualize import plot_transitions

    titles = load_thesis_items().set_index("id")["title"]
    path = edits_dir / "edited_transitions.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; rerun the edit_transitions job that makes {edits_dir}")
    with np.load(path) as z:
        obs, nxt, actions, variants = z["obs"], z["next_obs"], z["action"], [str(v) for v in z["variants"]]
    table = read_parquet(edits_dir / "edited_transitions.parquet")
    how = {"original": "the dataset's transitions where the agent reaches the coin, replayed",
           "translated": "agent and coin moved {shifts} cells left in the game state, drawn from the original cameras",
           "rearranged": "agent put on the ground below it, coin above its head, action jump-up, in the game state"}
    written = {}
    for item, (variant, first, count) in EDIT_FIGURES.items():
        v = variants.index(variant)
        chosen = list(range(first, min(first + count, obs.shape[1])))
        if not chosen:
            continue
        shifts = sorted({-int(c) for c in table.loc[(table["variant"] == "translated") & table["index"].isin(chosen),
                                                     "shift_cells"]}) if variant == "translated" else []
        stem = item_stem(item) + suffix
        written[stem] = plot_transitions(
            obs[v, chosen].transpose(0, 3, 1, 2), nxt[v, chosen].transpose(0, 3, 1, 2),
            [f"transition {i}: action {int(actions[v, i])}" for i in chosen], out_dir / f"{stem}.png", columns=2,
            suptitle=f"{item}: {titles[item]}. Ours ({edits_dir.name}): "
                     + how[variant].format(shifts="/".join(map(str, shifts))))
    return written


def edit_figures(edits_dirs: list[Path], out_dir: Path) -> dict[str, Path]:
    """Figures 5.16, 5.17 and C.8-C.13 of each edited-transitions folder under their thesis names (suffixed with
    the dataset when there are several)."""
    written = {}
    for folder in edits_dirs:
        suffix = "" if len(edits_dirs) == 1 else f"_{folder.name.removesuffix('-edits')}"
        written.update(plot_edit_figures(folder, out_dir, suffix))
    return written


def build_item_figures(inputs: dict, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Figures 5.1 (from the first CoinRun dataset), 5.2 (rendered in the distribution mode of the datasets) and
    the edited transitions' figures, from the path inputs; none without them."""
    out = Path(out_dir)
    written: dict[str, Path] = {}
    tables = _paths(inputs, "transition_paths")
    if tables:
        firsts = {path: read_parquet(path).iloc[0] for path in tables}
        coinrun = [path for path, first in firsts.items() if first["game"] == "coinrun"]
        if coinrun:
            written["fig_5_1"] = plot_coinrun_transitions(coinrun[0], out / "fig_5_1.png")
        mode = str(next(iter(firsts.values())).get("distribution_mode", "hard"))
        written["fig_5_2"] = plot_heist_observation(out / "fig_5_2.png", mode)
    written.update(edit_figures(_paths(inputs, "edits_paths"), out))
    written.update(appendix_edit_figures(inputs, out))
    return written


def appendix_edit_figures(inputs: dict, out: Path) -> dict[str, Path]:
    """Figures C.14-C.21 of each dataset's appendix edits (``appendix_edits_paths``), titled with the
    predictions (``appendix_predictions``) of a network that learnt from that dataset."""
    from nnstructure.reward.appendix_edits import FOLDER_SUFFIX, plot_appendix_edits

    folders = _paths(inputs, "appendix_edits_paths")
    predictions = inputs.get("appendix_predictions")
    written: dict[str, Path] = {}
    for folder in folders:
        dataset = folder.name.removesuffix(FOLDER_SUFFIX)
        mine = None
        if predictions is not None and len(predictions):
            mine = predictions[predictions["transitions"] == dataset]
        written.update(plot_appendix_edits(folder, mine, out, "" if len(folders) == 1 else f"_{dataset}"))
    return written
