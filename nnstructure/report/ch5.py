"""Chapter 5 report, part 1: reward nets (5.3), visualisation (5.4), noise (Table 5.1), edited transitions (Table 5.2).

Inputs (aggregated Parquet tables of the workflow; any may be missing, the
tables and figures that need it are then skipped):

* ``datasets``: one row per transition dataset, its ``summary.parquet``
  (:func:`nnstructure.reward.shards.dataset_summary`: ``game``, ``policy``,
  ``episodes``, ``transitions``, ``kept_transitions``, ``train_transitions``,
  ``test_transitions``, ``episodes_rewarded_frac``, ``kept_rewarded_frac``,
  ``mean_guess_mse``, ...), optionally ``dataset`` (a name); other columns are ignored.
* ``reward_nets``: one row per network, :func:`nnstructure.reward.nets.reward_net_row`
  (``network``, ``game``, ``epochs``, ``width_multiplier``, ``test_loss``,
  ``mean_guess_test_mse``, ...), optionally ``thesis_network``.
* ``reward_net_metrics``: the per-epoch metrics tables of those networks with a ``network`` column.
* ``noise``: :func:`nnstructure.reward.noise.noise_test` rows (``network``, ``pairing``,
  ``predicted_reward``, ``clip``, ``noise_variant``) of every network.
* ``edits``: :func:`nnstructure.reward.noise.predict_transition_sets` rows (``network``,
  ``edit``, ``example``, ``predicted_reward``).
* ``visualizations``: the ``predictions.parquet`` of ``nnstructure visualize-reward``
  (``mode``, ``network``, ``item``, ``action``, ``step``, ``predicted_reward``).
* ``visualization_controls``: its ``controls.parquet`` (de novo mode).
* ``visualization_images``: ``network``, ``mode``, ``path`` (the run's ``images.npz``).
* ``transition_paths``, ``edits_paths``: ``path`` of each transition dataset's ``transitions.parquet`` and of
  each edited-transitions folder (Figures 5.1, 5.2, 5.16, 5.17, C.8-C.13: :mod:`nnstructure.report.ch5_items`).

Which thesis network a network of ours stands for (``thesis_network``:
``coinrun-15``, ``coinrun-40``, ``heist``) comes from the ``reward_nets`` row, or
else from its game and epochs (CoinRun up to 27 epochs: the 15-epoch network).

Each of Tables 5.1 and 5.2 and the visualisation table ends with one computed
line saying whether the thesis's qualitative finding holds on our nets
(:mod:`nnstructure.report.findings`); the lines are also the ``findings`` table
and ``finding`` rows of the scorecard.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

CHAPTER = 5
REFERENCE_FILES = ("thesis_ch5.csv",)

THESIS_NETWORKS = {"coinrun-15": "CoinRun, 15 epochs", "coinrun-40": "CoinRun, 40 epochs", "heist": "Heist"}
PAIRINGS = (("different", "Different"), ("same", "Same"))
EDITS = (("original", "Original"), ("translated", "Translated"), ("rearranged", "Rearranged"))
DATASET_METRICS = (
    ("episodes", "Episodes"), ("transitions", "Transitions (before filtering)"),
    ("kept_transitions", "Transitions kept"), ("train_transitions", "Train transitions"),
    ("test_transitions", "Test transitions"), ("episodes_rewarded_frac", "Episodes rewarded"),
    ("kept_rewarded_frac", "Transitions rewarded (kept)"), ("mean_guess_mse", "Mean-guessing MSE"),
)


def load_reference() -> pd.DataFrame:
    """The thesis's chapter-5 part-1 numbers (long format: table, network, row, metric, value float, note)."""
    from nnstructure.report.reference import _read_package_csv

    ref = _read_package_csv("thesis_ch5.csv")
    ref["value"] = ref["value"].astype(float)
    return ref


def _theirs(ref: pd.DataFrame, table: str, network: str, row: str, metric: str) -> float:
    v = ref.loc[(ref["table"] == table) & (ref["network"] == network) & (ref["row"] == row) & (ref["metric"] == metric), "value"]
    return float(v.iloc[0]) if len(v) else float("nan")


def _present(inputs: dict, name: str) -> pd.DataFrame | None:
    df = inputs.get(name)
    return df if df is not None and len(df) else None


def thesis_network_of(game, epochs) -> str | None:
    """The thesis network a network of ``game`` trained ``epochs`` epochs is compared with."""
    game = str(game).lower() if game is not None else ""
    if game == "heist":
        return "heist"
    if game == "coinrun":
        return "coinrun-15" if epochs is None or not np.isfinite(epochs) or epochs <= 27 else "coinrun-40"
    return None


def _network_map(inputs: dict) -> dict[str, str | None]:
    nets = _present(inputs, "reward_nets")
    out: dict[str, str | None] = {}
    if nets is not None:
        for _, r in nets.iterrows():
            given = r.get("thesis_network") if "thesis_network" in nets.columns else None
            out[str(r["network"])] = given if isinstance(given, str) and given else thesis_network_of(r.get("game"), r.get("epochs"))
    return out


def _thesis_network(df: pd.DataFrame, mapping: dict) -> pd.Series:
    if "thesis_network" in df.columns:
        return df["thesis_network"]
    derived = [thesis_network_of(g, e) for g, e in zip(df.get("game", [None] * len(df)), df.get("epochs", [np.nan] * len(df)))]
    return pd.Series([mapping.get(str(n), d) for n, d in zip(df["network"], derived)], index=df.index)


def _fmt(value, digits: int = 3) -> str:
    if value is None or not np.isfinite(value):
        return ""
    value = float(value)
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def _count(value) -> str:
    return f"{int(round(value)):,}" if value is not None and np.isfinite(value) else ""


def _mean_sd(values: pd.Series) -> tuple[float, float]:
    values = values.astype(float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def _fmt_mean_sd(mean: float, sd: float) -> str:
    """Table 5.1/5.2 style: ``"7.3 ± 6.3"`` (two significant figures of the s.d.)."""
    if not np.isfinite(mean):
        return ""
    if not np.isfinite(sd) or sd <= 0:
        return _fmt(mean)
    d = max(0, 1 - int(np.floor(np.log10(float(f"{sd:.2g}")))))
    return f"{mean:.{d}f} ± {sd:.{d}f}"


def width_text(r) -> str:
    """``"width x0.125"``; ``"channels 12-8-12-12-8"`` where a row's channels are not the thesis's scaled by its
    width (the ``channels`` setting), so a label never names a width the net does not have."""
    from nnstructure.models.reward import REWARD_CHANNELS, channels_text

    width = float(r["width_multiplier"])
    built = r.get("channels")
    if isinstance(built, str) and built and built != channels_text({"channels": REWARD_CHANNELS, "width_multiplier": width}):
        return f"channels {built}"
    return f"width x{width:g}"


def _network_label(name: str, nets: pd.DataFrame | None) -> str:
    if nets is None or name not in set(nets["network"].astype(str)):
        return name
    r = nets[nets["network"].astype(str) == name].iloc[0]
    return f"{name} ({r['game']}, {int(r['epochs'])} ep., {width_text(r)})"


def _terminal_frame(r) -> str:
    """A reward-net row's ``terminal_frame`` (:mod:`nnstructure.reward.terminal_frames`); rows from before the
    setting existed were trained on the real frames."""
    from nnstructure.reward.terminal_frames import UNRECORDED

    value = r.get("terminal_frame")
    return str(value) if isinstance(value, str) and value else UNRECORDED


def network_as_trained(name: str, inputs: dict) -> str:
    """``"cr-small (CoinRun, 3 epochs, width x0.25; stands in for the thesis's CoinRun, 15 epochs)"``: a network of
    ours named as trained, beside the thesis network it is compared with (for figure titles and captions)."""
    nets = _present(inputs, "reward_nets")
    mapping = _network_map(inputs)
    parts = []
    if nets is not None and name in set(nets["network"].astype(str)):
        r = nets[nets["network"].astype(str) == name].iloc[0]
        game = r.get("game")
        if isinstance(game, str) and game:
            parts.append({"coinrun": "CoinRun", "heist": "Heist"}.get(game, game))
        if r.get("epochs") is not None and pd.notna(r.get("epochs")):
            parts.append(f"{int(r['epochs'])} epochs")
        if r.get("width_multiplier") is not None and pd.notna(r.get("width_multiplier")):
            parts.append(width_text(r))
        if _terminal_frame(r) == "repeat":
            parts.append("terminal frame repeated")
    text = ", ".join(parts)
    tn = mapping.get(name)
    if tn in THESIS_NETWORKS:
        text += ("; " if text else "") + f"stands in for the thesis's {THESIS_NETWORKS[tn]}"
    return f"{name} ({text})" if text else name


# --- tables ---------------------------------------------------------------------------------

def _mean_sd_table(df: pd.DataFrame, key: str, rows, table: str, inputs: dict, variant_column: str | None) -> pd.DataFrame:
    """Rows ``rows`` of ``key``; per network (x variant) an 'ours' column, then the thesis's column for it."""
    ref = load_reference()
    mapping = _network_map(inputs)
    nets = _present(inputs, "reward_nets")
    df = df.assign(thesis_network=_thesis_network(df, mapping))
    groups = ["network"] + ([variant_column] if variant_column and variant_column in df.columns else [])
    out = {"": [label for _, label in rows]}
    thesis_networks = []
    for ident, g in df.groupby(groups, sort=False):
        ident = ident if isinstance(ident, tuple) else (ident,)
        label = _network_label(str(ident[0]), nets) + (f" [{ident[1]}]" if len(ident) > 1 else "")
        out[f"{label} (ours)"] = [_fmt_mean_sd(*_mean_sd(g.loc[g[key] == r, "predicted_reward"])) if (g[key] == r).any() else ""
                                  for r, _ in rows]
        tn = g["thesis_network"].iloc[0]
        if isinstance(tn, str) and tn in THESIS_NETWORKS and tn not in thesis_networks:
            thesis_networks.append(tn)
    for tn in thesis_networks:
        out[f"{THESIS_NETWORKS[tn]} (thesis)"] = [
            _fmt_mean_sd(_theirs(ref, table, tn, r, "mean_predicted_reward"), _theirs(ref, table, tn, r, "sd_predicted_reward"))
            for r, _ in rows]
    return pd.DataFrame(out)


def table_5_1(inputs: dict) -> pd.DataFrame:
    """Table 5.1: mean ± s.d. of the rewards assigned to random-noise transitions (every action counted)."""
    noise = _present(inputs, "noise")
    variant = "noise_variant" if noise is not None and noise["noise_variant"].nunique() > 1 else None
    return _mean_sd_table(noise, "pairing", PAIRINGS, "5.1", inputs, variant)


def table_5_2(inputs: dict) -> pd.DataFrame:
    """Table 5.2: mean ± s.d. of the rewards assigned to the original and edited transitions."""
    return _mean_sd_table(_present(inputs, "edits"), "edit", EDITS, "5.2", inputs, None)


def dataset_table(inputs: dict) -> pd.DataFrame:
    """Thesis 5.3's dataset statistics: ours beside the thesis's, one column pair per game."""
    ref = load_reference()
    datasets = _present(inputs, "datasets")
    out = {"": [label for _, label in DATASET_METRICS]}
    for i, (_, r) in enumerate(datasets.iterrows()):
        game = str(r.get("game", ""))
        name = str(r.get("dataset", game or f"dataset {i}"))
        out[f"{name} (ours)"] = [_fmt_stat(metric, r.get(metric)) for metric, _ in DATASET_METRICS]
        out[f"{game} (thesis)"] = [_fmt_stat(metric, _theirs(ref, "5.3-text", game, "dataset", metric)) for metric, _ in DATASET_METRICS]
    return pd.DataFrame(out)


def _fmt_stat(metric: str, value) -> str:
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    if metric.endswith("_frac"):
        return f"{100 * value:.3g}%"
    if metric == "mean_guess_mse":
        return _fmt(value, 2)
    return f"{int(round(value)):,}"


def reward_net_table(inputs: dict) -> pd.DataFrame:
    """Thesis 5.3's networks: our test losses beside the mean-guessing baseline and the thesis's."""
    ref = load_reference()
    nets = _present(inputs, "reward_nets")
    mapping = _network_map(inputs)
    rows = []
    for _, r in nets.iterrows():
        tn = mapping.get(str(r["network"]))
        game_ref = {"coinrun-15": "coinrun", "coinrun-40": "coinrun", "heist": "heist"}.get(tn or "", "")
        rows.append({
            "Network": str(r["network"]), "Game": r.get("game"), "Width": width_text(r).removeprefix("width "),
            "Epochs": int(r["epochs"]), "Batch": _count(r.get("batch_size", np.nan)), "Init": r.get("init", ""),
            "Terminal frame": _terminal_frame(r),
            "Train transitions": f"{int(r['n_train']):,}",
            "Test loss": _fmt(r["test_loss"]), "Mean-guessing test MSE": _fmt(r.get("mean_guess_test_mse")),
            "Loss / mean guessing": _fmt(r["test_loss"] / r["mean_guess_test_mse"]) if r.get("mean_guess_test_mse") else "",
            "Thesis network": THESIS_NETWORKS.get(tn, ""),
            "Thesis epochs": _count(_theirs(ref, "5.3-text", tn, "network", "epochs")) if tn else "",
            "Thesis test loss": _fmt(_theirs(ref, "5.3-text", tn, "network", "test_loss")) if tn else "",
            "Thesis mean guessing": _fmt(_theirs(ref, "5.3-text", game_ref, "dataset", "mean_guess_mse")) if tn else "",
        })
    return pd.DataFrame(rows)


def visualization_table(inputs: dict) -> pd.DataFrame:
    """Section 5.4's numbers: predicted rewards of the optimised inputs per network, mode and step, and the controls."""
    ref = load_reference()
    vis = _present(inputs, "visualizations")
    mapping = _network_map(inputs)
    rows = []
    if vis is not None:
        for (network, mode, step), g in vis.groupby(["network", "mode", "step"], sort=True):
            values = g["predicted_reward"]
            tn = mapping.get(str(network)) or "coinrun-15"
            if mode == "denovo":
                theirs = _fmt_mean_sd(_theirs(ref, "5.4-text", tn, "denovo", "mean_predicted_reward"),
                                      _theirs(ref, "5.4-text", tn, "denovo", "sd_predicted_reward")) if step == vis["step"].max() else ""
                if theirs:
                    theirs += f" (range {_fmt(_theirs(ref, '5.4-text', tn, 'denovo', 'min_predicted_reward'))}"
                    theirs += f"-{_fmt(_theirs(ref, '5.4-text', tn, 'denovo', 'max_predicted_reward'))})"
            else:
                theirs = _fmt(_theirs(ref, "5.4-text", tn, f"{mode} step {int(step)}", "predicted_reward"))
            rows.append({"Network": network, "What": mode, "Step": str(int(step)), "Items": len(values),
                         "Predicted reward (ours)": _fmt_mean_sd(*_mean_sd(values)),
                         "Range (ours)": f"{_fmt(values.min())} to {_fmt(values.max())}", "Thesis": theirs})
    controls = _present(inputs, "visualization_controls")
    if controls is not None:
        for (network, control), g in controls.groupby(["network", "control"], sort=False):
            values = g["predicted_reward"]
            tn = mapping.get(str(network)) or "coinrun-15"
            theirs = ""
            if control.startswith("scrambled"):
                theirs = f"{_fmt(_theirs(ref, '5.4-text', tn, 'scrambled', 'min_predicted_reward'))} to " \
                         f"{_fmt(_theirs(ref, '5.4-text', tn, 'scrambled', 'max_predicted_reward'))}"
            elif control == "pink-to-cyan":
                theirs = "not high"
            rows.append({"Network": network, "What": f"control: {control}", "Step": "", "Items": len(values),
                         "Predicted reward (ours)": _fmt_mean_sd(*_mean_sd(values)),
                         "Range (ours)": f"{_fmt(values.min())} to {_fmt(values.max())}", "Thesis": theirs})
    return pd.DataFrame(rows)


def findings(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One line per table whose data is present: noise (Table 5.1), edited transitions (Table 5.2), and
    whether adversarial training took the high reward from de novo visualisations (with section 5.4's table)."""
    from nnstructure.report import findings as f

    nets = _present(inputs, "reward_nets")
    records = []
    if _present(inputs, "noise") is not None:
        records.append(f.finding_record("table_5_1", "5.1", "5.1", f.noise_finding(inputs["noise"], _present(inputs, "edits"), nets)))
    if _present(inputs, "edits") is not None:
        records.append(f.finding_record("table_5_2", "5.2", "5.2", f.edits_finding(inputs["edits"], nets)))
    vis = _present(inputs, "visualizations")
    if vis is not None:
        mapping = _network_map(inputs)
        vis = vis.assign(thesis_network=_thesis_network(vis, mapping)) if "thesis_network" not in vis.columns else vis
        records.append(f.finding_record("reward_visualization", "5.8-text", "adversarial", f.adversarial_denovo_finding(
            vis, unlearnt=f.reward_net_unlearnt(_present(inputs, "adversarial")))))
    return pd.DataFrame(records, columns=["table_name", "table", "claim", "criterion", "verdict", "line"])


def build_tables(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Table 5.1, Table 5.2, the dataset statistics, the networks' losses and the visualisation numbers,
    and the thesis's findings judged on them (``findings``)."""
    tables: dict[str, pd.DataFrame] = {}
    if _present(inputs, "noise") is not None:
        tables["table_5_1"] = table_5_1(inputs)
    if _present(inputs, "edits") is not None:
        tables["table_5_2"] = table_5_2(inputs)
    if _present(inputs, "datasets") is not None:
        tables["transition_datasets"] = dataset_table(inputs)
    if _present(inputs, "reward_nets") is not None:
        tables["reward_nets"] = reward_net_table(inputs)
    if _present(inputs, "visualizations") is not None or _present(inputs, "visualization_controls") is not None:
        tables["reward_visualization"] = visualization_table(inputs)
    appendix = appendix_edits_tables(inputs)
    if len(appendix):
        tables["table_appendix_c_edits"] = appendix
    lines = findings(inputs)
    if len(lines):
        tables["findings"] = lines
    return tables


def appendix_edits_tables(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Our predicted rewards on Figures C.14-C.21's edits (a table the thesis does not have), every dataset's."""
    from nnstructure.reward.appendix_edits import FOLDER_SUFFIX, appendix_edits_table, made_edits

    predictions = _present(inputs, "appendix_predictions")
    folders = inputs.get("appendix_edits_paths")
    if predictions is None or folders is None or not len(folders):
        return pd.DataFrame()
    frames = []
    for folder in folders["path"]:
        dataset = Path(folder).name.removesuffix(FOLDER_SUFFIX)
        mine = predictions[predictions["transitions"] == dataset]
        frames.append(appendix_edits_table(mine, made_edits(folder)).assign(dataset=dataset))
    table = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({
        "Figure": table["figure"], "Edit": table["edit"], "Dataset": table["dataset"], "Network": table["network"],
        "Transitions edited": table["edited_transitions"], "Game reward": table["game_reward"].map(lambda v: f"{v:.3g}"),
        "Predicted reward": [_fmt_mean_sd(m, sd) for m, sd in zip(table["predicted_mean"], table["predicted_sd"])],
    })


_CAPTIONS = {
    "table_5_1": ("Table 5.1: rewards assigned to random-noise transitions, mean ± s.d. over every action's output "
                  "(Different: observation and next observation are different N(0.5, 1) images; Same: the same image)"),
    "table_5_2": ("Table 5.2: rewards assigned to transitions where the agent reaches the coin, mean ± s.d. "
                  "(Translated: agent and coin moved left; Rearranged: coin above the agent, which jumps up to it)"),
    "transition_datasets": "Section 5.3: transition datasets",
    "reward_nets": "Section 5.3: reward nets (test loss = MSE of the taken action's output on the test split)",
    "reward_visualization": ("Section 5.4: predicted rewards of inputs optimised for predicted reward (de novo in Fourier "
                             "space; from dataset or edited transitions in pixel space) and the controls"),
    "table_appendix_c_edits": ("Figures C.14-C.21 (new numbers: the thesis shows these edits without predictions, as "
                               "ones that did not appear to fool its nets): our nets' predicted rewards, mean ± s.d. "
                               "over the edited transitions (Table 5.2's transitions, edited in the game state or, "
                               "for the background repaints, in the pixels), and the game's mean reward for the "
                               "edited state and action"),
}


def tables_markdown(tables: dict[str, pd.DataFrame], settings: dict[str, str] | None = None) -> dict[str, str]:
    """Markdown per table, its caption saying what was run (``settings``: extra caption text per table),
    then the finding line of that table; ``findings`` as a list of every line."""
    from nnstructure.report.findings import findings_list_markdown, findings_markdown
    from nnstructure.report.tables import to_markdown

    lines = tables.get("findings")
    out = {}
    for name, df in tables.items():
        if name == "findings":
            out[name] = findings_list_markdown(df, "Chapter 5: the thesis's findings on our nets")
            continue
        caption = _CAPTIONS.get(name, name)
        if settings and name in settings:
            caption += f". {settings[name]}"
        finding = findings_markdown(lines, name)
        out[name] = to_markdown(df, caption=caption + ".") + (f"\n{finding}\n" if finding else "")
    return out


def noise_caption(noise: pd.DataFrame) -> str:
    """What the noise rows were run with (for :func:`tables_markdown`'s ``settings``)."""
    parts = []
    for variant, g in noise.groupby("noise_variant"):
        parts.append(f"{variant} ({'clipped to [0, 1]' if g['clip'].iloc[0] else 'unclipped'}): "
                     f"{int(g['n_images'].iloc[0])} images, seed {int(g['seed'].iloc[0])}")
    return "Noise: " + "; ".join(parts)


# --- figures --------------------------------------------------------------------------------

def build_figures(inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Figure 5.15 (noise images), noise-prediction histograms, the networks' test-loss curves,
    de novo visualisations (Figure 5.3, C.1, C.2), the optimisation snapshots (Figures 5.4-5.14, one file each
    and one overview per run), and from the data: Figures 5.1, 5.2, 5.16, 5.17, C.8-C.13."""
    from nnstructure.report.ch5_items import build_item_figures

    out_dir = Path(out_dir)
    figures: dict[str, Path] = build_item_figures(inputs, out_dir)
    noise = _present(inputs, "noise")
    clip = bool(noise["clip"].iloc[0]) if noise is not None else True
    figures["fig_5_15"] = plot_noise_examples(out_dir / "fig_5_15.png", clip=clip)
    if noise is not None:
        figures["fig_noise_predictions"] = plot_noise_predictions(noise, out_dir / "fig_noise_predictions.png", inputs)
    metrics = _present(inputs, "reward_net_metrics")
    if metrics is not None:
        figures["fig_reward_net_training"] = plot_training_curves(metrics, inputs, out_dir / "fig_reward_net_training.png")
    images = _present(inputs, "visualization_images")
    if images is not None:
        figures.update(plot_visualization_images(images, out_dir, inputs))
    return figures


def plot_noise_examples(path: str | os.PathLike, clip: bool = True, seed: int = 0, size: int = 64) -> Path:
    """Figure 5.15: two images with IID N(0.5, 1) pixels (clipped to [0, 1] when ``clip``; shown clipped)."""
    import torch
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure
    from nnstructure.reward.noise import noise_images, noise_variant
    from nnstructure.seeding import derive_seed

    images = noise_images(2, (3, size, size), clip, torch.Generator().manual_seed(derive_seed(seed, "fig_5_15")))
    fig = Figure(figsize=(5, 2.6))
    axes = fig.subplots(1, 2)
    for ax, image in zip(axes, images):
        ax.imshow(image.clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.axis("off")
    fig.suptitle(f"Images with IID N(0.5, 1) pixels ({noise_variant(clip)})", fontsize=9)
    save_figure(fig, path)
    return Path(path)


def plot_noise_predictions(noise: pd.DataFrame, path: str | os.PathLike, inputs: dict | None = None) -> Path:
    """Histograms of the predicted rewards of noise transitions, one panel per network and variant (each network
    named as trained, with the thesis network it stands in for, from ``inputs``' ``reward_nets``)."""
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure

    groups = list(noise.groupby(["network", "noise_variant"], sort=False))
    fig = Figure(figsize=(4.5 * len(groups), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    for ax, ((network, variant), g) in zip(axes, groups):
        for pairing, label in PAIRINGS:
            values = g.loc[g["pairing"] == pairing, "predicted_reward"]
            ax.hist(values, bins=40, alpha=0.6, label=label)
        ax.axvline(10, color="black", lw=0.8, ls="--", label="reward of reaching the coin")
        ax.set_title(f"{network_as_trained(str(network), inputs or {})}\n{variant} noise", fontsize=7)
        ax.set_xlabel("predicted reward (every action)")
        ax.legend(fontsize=7)
    save_figure(fig, path)
    return Path(path)


def plot_training_curves(metrics: pd.DataFrame, inputs: dict, path: str | os.PathLike) -> Path:
    """Test loss per epoch of every reward net, with the thesis's final test losses as dashed lines."""
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure

    ref = load_reference()
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for network, g in metrics.groupby("network", sort=False):
        name = network_as_trained(str(network), inputs)
        ax.plot(g["epoch"], g["test_loss"], marker="o", ms=3, label=f"{name}: test")
        ax.plot(g["epoch"], g["train_loss"], ls=":", lw=1, label=f"{name}: train, running")
    for tn in sorted({t for t in _network_map(inputs).values() if t}):
        theirs = _theirs(ref, "5.3-text", tn, "network", "test_loss")
        if np.isfinite(theirs):
            ax.axhline(theirs, ls="--", lw=0.8, color="grey")
            ax.text(ax.get_xlim()[0], theirs, f" thesis {THESIS_NETWORKS[tn]}: {theirs}", fontsize=7, va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE of the taken action's output")
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return Path(path)


def plot_visualization_images(images: pd.DataFrame, out_dir: Path, inputs: dict | None = None) -> dict[str, Path]:
    """De novo: Figure 5.3 (action 0), C.1 (actions 0-7), C.2 (8-14); snapshots: Figures 5.4-5.8 and 5.9-5.14."""
    from nnstructure.reward.visualize import plot_transitions

    figures: dict[str, Path] = {}
    for _, r in images.iterrows():
        network, mode = str(r["network"]), str(r["mode"])
        named = network_as_trained(network, inputs or {})
        with np.load(r["path"]) as z:
            steps, obs, nxt, actions, rewards = z["steps"], z["obs"], z["next_obs"], z["actions"], z["rewards"]
        suffix = "" if len(images[images["mode"] == mode]) == 1 else f"_{network}"
        if mode == "denovo":
            last = len(steps) - 1
            titles = [f"action {int(a)}: predicted {rewards[last, i]:.4g}" for i, a in enumerate(actions)]
            for name, sel in (("fig_5_3", [int(np.flatnonzero(actions == actions.min())[0])]),
                              ("fig_c_1", list(np.flatnonzero(actions < 8))), ("fig_c_2", list(np.flatnonzero(actions >= 8)))):
                if sel:
                    figures[name + suffix] = plot_transitions(obs[last, sel], nxt[last, sel], [titles[i] for i in sel],
                                                              out_dir / f"{name}{suffix}.png", columns=2,
                                                              suptitle=f"{named}: de novo, {int(steps[last])} steps")
        else:
            name = "fig_5_4_to_5_8" if mode == "from-dataset" else "fig_5_9_to_5_14"
            titles = [f"step {int(s)}: predicted {rewards[k, 0]:.4g}" for k, s in enumerate(steps)]
            figures[name + suffix] = plot_transitions(obs[:, 0], nxt[:, 0], titles, out_dir / f"{name}{suffix}.png", columns=2,
                                                      suptitle=f"{named}: {mode}, one transition through the optimisation")
            for figure, step in SNAPSHOT_FIGURES[mode].items():
                at = np.flatnonzero(steps == step)
                if len(at):
                    k = int(at[0])
                    stem = "fig_" + figure.split()[1].replace(".", "_") + suffix
                    figures[stem] = plot_transitions(
                        obs[k:k + 1, 0], nxt[k:k + 1, 0], [f"step {step}: predicted reward {rewards[k, 0]:.4g}"],
                        out_dir / f"{stem}.png", columns=1,
                        suptitle=f"{figure} ({SNAPSHOT_THESIS[figure]}). Ours: {named}, {mode}, "
                                 f"after {step} of {int(steps[-1])} steps")
    return figures


#: The thesis figure of each optimisation snapshot: from a dataset transition (5.4-5.8, after 8-128 steps) and
#: from a translated transition (5.9 before optimisation, 5.10-5.14 after 8-128 steps).
SNAPSHOT_FIGURES = {"from-dataset": {f"Figure 5.{n}": 2 ** (n - 1) for n in range(4, 9)},
                    "from-edits": {"Figure 5.9": 0, **{f"Figure 5.{n}": 2 ** (n - 7) for n in range(10, 15)}}}
#: What the thesis's snapshot figures show (their predicted rewards).
SNAPSHOT_THESIS = {"Figure 5.4": "thesis: predicted reward 50", "Figure 5.5": "thesis: 96", "Figure 5.6": "thesis: 158",
                   "Figure 5.7": "thesis: 229", "Figure 5.8": "thesis: 1,401",
                   "Figure 5.9": "translated transition, thesis: predicted reward 9.8", "Figure 5.10": "thesis: 25",
                   "Figure 5.11": "thesis: 46", "Figure 5.12": "thesis: 125", "Figure 5.13": "thesis: 130",
                   "Figure 5.14": "thesis: 1,217"}


# --- scorecard ------------------------------------------------------------------------------

def _card(table, cell, metric, ours, theirs, agrees, criterion, note) -> dict:
    ours = float(ours) if ours is not None else np.nan
    theirs = float(theirs) if theirs is not None else np.nan
    has = np.isfinite(theirs)
    return {"chapter": CHAPTER, "table": table, "cell": cell, "metric": metric, "ours": ours,
            "theirs": theirs if has else np.nan, "diff": ours - theirs if has and np.isfinite(ours) else np.nan,
            "agrees": (None if agrees is None else bool(agrees)) if has else None,
            "criterion": criterion if has else "", "note": note}


def _within_factor(ours, theirs, factor):
    if not (np.isfinite(ours) and np.isfinite(theirs)) or ours <= 0 or theirs <= 0:
        return False if np.isfinite(ours) and np.isfinite(theirs) else None
    return 1 / factor <= ours / theirs <= factor


def scorecard(inputs: dict[str, pd.DataFrame], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our numbers beside the thesis's (Tables 5.1, 5.2, section 5.3's datasets and losses, section 5.4)."""
    ref = load_reference() if reference is None else reference.assign(value=reference["value"].astype(float))
    mapping = _network_map(inputs)
    out: list[dict] = []
    for table, key, rows, name in (("5.1", "pairing", PAIRINGS, "noise"), ("5.2", "edit", EDITS, "edits")):
        df = _present(inputs, name)
        if df is None:
            continue
        df = df.assign(thesis_network=_thesis_network(df, mapping))
        groups = ["network"] + (["noise_variant"] if "noise_variant" in df.columns else [])
        for ident, g in df.groupby(groups, sort=False):
            ident = ident if isinstance(ident, tuple) else (ident,)
            tn = g["thesis_network"].iloc[0]
            for r, label in rows:
                values = g.loc[g[key] == r, "predicted_reward"]
                if not len(values):
                    continue
                mean, sd = _mean_sd(values)
                t_mean = _theirs(ref, table, tn, r, "mean_predicted_reward")
                t_sd = _theirs(ref, table, tn, r, "sd_predicted_reward")
                cell = f"{ident[0]} vs {THESIS_NETWORKS.get(tn, tn)}: {label}" + (f" [{ident[1]}]" if len(ident) > 1 else "")
                note = f"{len(values)} predictions" + (f", noise variant {ident[1]}" if len(ident) > 1 else "")
                tol = max(t_sd, 0.5) if np.isfinite(t_sd) else np.nan
                out.append(_card(table, cell, "mean_predicted_reward", mean, t_mean,
                                 abs(mean - t_mean) <= tol if np.isfinite(tol) else None, "|diff| <= max(thesis s.d., 0.5)", note))
                out.append(_card(table, cell, "sd_predicted_reward", sd, t_sd, _within_factor(sd, t_sd, 2.0),
                                 "within a factor of 2", note))
    datasets = _present(inputs, "datasets")
    if datasets is not None:
        for _, r in datasets.iterrows():
            game = str(r.get("game", ""))
            name = str(r["dataset"]) if "dataset" in r and isinstance(r["dataset"], str) else f"{game} dataset"
            for metric, label in DATASET_METRICS:
                if metric not in r or pd.isna(r[metric]):
                    continue
                ours, theirs = float(r[metric]), _theirs(ref, "5.3-text", game, "dataset", metric)
                if metric == "episodes_rewarded_frac":
                    agrees, criterion = abs(ours - theirs) <= 0.05, "|diff| <= 0.05"
                elif metric in ("kept_rewarded_frac", "mean_guess_mse"):
                    agrees, criterion = _within_factor(ours, theirs, 1.25), "within 25%"
                else:
                    agrees, criterion = None, "size set by the preset (no criterion)"
                out.append(_card("5.3", f"{name}: {label}", metric, ours, theirs, agrees, criterion,
                                 f"policy {r.get('policy', '')}".strip()))
    nets = _present(inputs, "reward_nets")
    if nets is not None:
        for _, r in nets.iterrows():
            tn = mapping.get(str(r["network"]))
            theirs = _theirs(ref, "5.3-text", tn, "network", "test_loss") if tn else np.nan
            note = (f"{int(r['epochs'])} epochs, {width_text(r)}, {int(r['n_train'])} train transitions, "
                    f"terminal frame {_terminal_frame(r)}")
            out.append(_card("5.3", f"{r['network']} vs {THESIS_NETWORKS.get(tn, tn)}: test loss", "test_loss",
                             float(r["test_loss"]), theirs, _within_factor(float(r["test_loss"]), theirs, 1.5),
                             "within 50%", note))
            out.append(_card("5.3", f"{r['network']}: test loss / mean-guessing MSE", "test_loss_over_mean_guess",
                             float(r["test_loss"]) / float(r["mean_guess_test_mse"]), np.nan, None, "", note))
    vis = _present(inputs, "visualizations")
    if vis is not None:
        for (network, mode), g in vis.groupby(["network", "mode"], sort=False):
            tn = mapping.get(str(network)) or "coinrun-15"
            final = g[g["step"] == g["step"].max()]["predicted_reward"]
            if mode == "denovo":
                lo, hi = _theirs(ref, "5.4-text", tn, "denovo", "min_predicted_reward"), _theirs(ref, "5.4-text", tn, "denovo", "max_predicted_reward")
                mean = float(final.mean())
                out.append(_card("5.4", f"{network}: de novo optimised inputs", "mean_predicted_reward", mean,
                                 _theirs(ref, "5.4-text", tn, "denovo", "mean_predicted_reward"), lo <= mean <= hi,
                                 f"inside the thesis's range {lo:g}-{hi:g}", f"{len(final)} actions, step {int(g['step'].max())}"))
            else:
                for step, gs in g.groupby("step"):
                    theirs = _theirs(ref, "5.4-text", tn, f"{mode} step {int(step)}", "predicted_reward")
                    mean = float(gs["predicted_reward"].mean())
                    out.append(_card("5.4", f"{network}: {mode} after {int(step)} steps", "mean_predicted_reward", mean, theirs,
                                     _within_factor(mean, theirs, 2.0), "within a factor of 2 (thesis: one transition)",
                                     f"mean of {len(gs)} transitions"))
    controls = _present(inputs, "visualization_controls")
    if controls is not None:
        for (network, control), g in controls.groupby(["network", "control"], sort=False):
            if not control.startswith("scrambled"):
                continue
            tn = mapping.get(str(network)) or "coinrun-15"
            lo, hi = _theirs(ref, "5.4-text", tn, "scrambled", "min_predicted_reward"), _theirs(ref, "5.4-text", tn, "scrambled", "max_predicted_reward")
            mean = float(g["predicted_reward"].mean())
            out.append(_card("5.4", f"{network}: {control} optimised images", "mean_predicted_reward", mean, (lo + hi) / 2,
                             lo <= mean <= hi, f"inside the thesis's range {lo:g}-{hi:g}", f"{len(g)} images"))
    from nnstructure.report.findings import findings_card

    out += findings_card(findings(inputs), CHAPTER)
    return pd.DataFrame(out, columns=["chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"])
