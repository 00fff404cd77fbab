"""Reward-net recipe search: learning curves of reward nets on a transition dataset, with Table 5.2's originals.

Each ``--recipe`` is a JSON object of reward-net settings (``nnstructure.reward.settings.REWARD_NET_SETTINGS``:
``width_multiplier``, ``channels``, ``epochs``, ``lr``, ``lr_schedule``, ``batch_size``, ``zero_reward_discard``, ``discard_weighting``,
``precision``, ``init``, ``terminal_frame``). For every recipe it trains one net through the workflow's own
``train_reward_net`` and, after every epoch, records the test loss on the whole (undiscarded) test
split, its ratio to mean guessing, the mean prediction on rewarded and unrewarded test transitions
and, with ``--edits``, the mean prediction on the original Table 5.2 transitions. It writes one
Parquet table of curves (``--out``), a figure of them (``--figure``), and prints one JSON line per
epoch and a summary per recipe. Targets (issue "Chapter 5 that learns"): test MSE <= 0.25 x mean
guessing, originals >= 7, within 60 minutes of training on 2 CPU cores.

    .venv/bin/python benchmarks/reward_recipe.py --dataset results/default/transitions/coinrun \\
        --edits results/default/transitions/coinrun-edits --threads 2 --out curves.parquet \\
        --recipe '{"width_multiplier": 0.25, "epochs": 20, "zero_reward_discard": 0.95}'
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _original_predictions(model, edits_dir: Path | None, precision: str, terminal_frame: str) -> float:
    if edits_dir is None:
        return float("nan")
    from nnstructure.reward.noise import load_edit_sets
    from nnstructure.models.reward import predict_rewards
    from nnstructure.reward.terminal_frames import edit_sets_with_terminal_frame

    sets = edit_sets_with_terminal_frame(load_edit_sets(edits_dir), terminal_frame)
    original = sets["original"]
    pred = predict_rewards(model, torch.as_tensor(original["obs"]), torch.as_tensor(original["next_obs"]),
                           torch.as_tensor(original["action"]), precision=precision)
    return float(pred.mean())


def _split_predictions(model, dataset, precision: str, n_zero: int = 2000) -> tuple[float, float]:
    """Mean predicted reward on the rewarded test transitions and on a fixed sample of ``n_zero`` unrewarded ones."""
    from nnstructure.models.reward import predict_rewards

    test = dataset.mask("test")
    zero = test & (dataset.column("reward") == 0)
    zeros = np.flatnonzero(zero)
    where = test & ~zero
    where[np.random.default_rng(0).choice(zeros, min(n_zero, len(zeros)), replace=False)] = True
    rewarded, other = [], []
    for batch in dataset.batches(None, 512, shuffle=False, where=where):
        pred = predict_rewards(model, batch["obs"], batch["next_obs"], batch["action"], precision=precision)
        mask = batch["reward"] != 0
        rewarded.append(pred[mask])
        other.append(pred[~mask])
    r, o = torch.cat(rewarded), torch.cat(other)
    return (float(r.mean()) if len(r) else float("nan")), float(o.mean())


def run_recipe(name: str, recipe: dict, dataset_path: Path, edits: Path | None, seed: int, workdir: Path,
               on_epoch=None) -> list[dict]:
    from nnstructure.reward.nets import mean_guess_mse, reward_net_settings, train_reward_net
    from nnstructure.reward.transitions import TransitionDataset

    settings = reward_net_settings(recipe)
    dataset = TransitionDataset(dataset_path, terminal_frame=settings["terminal_frame"])
    baseline = mean_guess_mse(dataset)["test"]
    rows: list[dict] = []
    t0, c0 = time.perf_counter(), time.process_time()

    from nnstructure.models import build_model
    from nnstructure.reward.nets import split_reward_settings

    c, h, w = dataset.frame_shape
    spec, _ = split_reward_settings(settings, [2 * c, h, w], 15)
    model = build_model(spec, seed=0)
    out = workdir / f"{name}.pt"

    def after_epoch(epoch: int, metrics: dict) -> None:
        # The loop saves its resume state before calling back: evaluate the weights of this epoch from it.
        state = torch.load(str(out) + ".partial", map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        model.eval()
        rewarded, other = _split_predictions(model, dataset, settings["precision"])
        row = {"recipe": name, **{k: (json.dumps(v) if isinstance(v, list) else v) for k, v in recipe.items()},
               "epoch": epoch + 1, "train_loss": metrics["train_loss"], "test_loss": metrics["test_loss"],
               "mean_guess_test_mse": baseline, "loss_ratio": metrics["test_loss"] / baseline,
               "pred_rewarded_test": rewarded, "pred_unrewarded_test": other,
               "pred_originals": _original_predictions(model, edits, settings["precision"], settings["terminal_frame"]),
               "terminal_frame": settings["terminal_frame"],
               "train_seconds_cumulative": time.perf_counter() - t0, "cpu_seconds_cumulative": time.process_time() - c0}
        rows.append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
        if on_epoch is not None:
            on_epoch(rows)

    train_reward_net(dataset_path, recipe, seed, out, progress=False, epoch_callback=after_epoch)
    return rows


def plot_curves(df, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for name, g in df.groupby("recipe", sort=False):
        ax1.plot(g["train_seconds_cumulative"] / 60, g["loss_ratio"], marker=".", label=name)
        ax2.plot(g["train_seconds_cumulative"] / 60, g["pred_originals"], marker=".", label=name)
    ax1.axhline(0.25, color="grey", ls="--", lw=0.8)
    ax1.axhline(1.0, color="black", lw=0.8)
    ax1.set(xlabel="wall minutes (training and per-epoch evaluation)", ylabel="test MSE / mean guessing", yscale="log", title="test loss (whole test split)")
    ax2.axhline(7, color="grey", ls="--", lw=0.8)
    ax2.set(xlabel="wall minutes (training and per-epoch evaluation)", ylabel="mean prediction", title="Table 5.2 originals (thesis 9.7)")
    ax1.legend(fontsize=7)
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=None)
    ap.add_argument("--edits", type=Path, default=None)
    ap.add_argument("--recipe", action="append", default=[], help="JSON object of reward-net settings (repeatable)")
    ap.add_argument("--from-logs", nargs="+", type=Path, default=None,
                    help="instead of training: rebuild --out and --figure from the JSON lines this script printed")
    ap.add_argument("--name", action="append", default=None, help="a name per recipe (default r0, r1, ...)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="curves table (.parquet); appended to if it exists")
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    import pandas as pd

    if args.from_logs:
        rows = [json.loads(line) for log in args.from_logs for line in log.read_text().splitlines() if line.startswith("{")]
        pd.DataFrame(rows).to_parquet(args.out, index=False)
        if args.figure:
            plot_curves(pd.DataFrame(rows), args.figure)
        return
    if not args.recipe or args.dataset is None:
        ap.error("give --dataset and at least one --recipe (or --from-logs)")
    torch.set_num_threads(args.threads)
    names = args.name or [f"r{i}" for i in range(len(args.recipe))]
    rows: list[dict] = []

    def save(current: list[dict]) -> None:  # after every epoch: an interrupted search keeps its curves
        df = pd.DataFrame(rows + current)
        if args.out.exists():
            old = pd.read_parquet(args.out)
            df = pd.concat([old[~old["recipe"].isin(df["recipe"].unique())], df], ignore_index=True)
        df.to_parquet(args.out, index=False)

    with tempfile.TemporaryDirectory() as tmp:
        for name, text in zip(names, args.recipe):
            rows += run_recipe(name, json.loads(text), args.dataset, args.edits, args.seed, Path(tmp), on_epoch=save)
    if args.figure:
        plot_curves(pd.read_parquet(args.out), args.figure)
    for name, g in pd.DataFrame(rows).groupby("recipe", sort=False):
        best = g.loc[g["loss_ratio"].idxmin()]
        print(f"{name}: best ratio {best.loss_ratio:.3f} at epoch {best.epoch} ({best.train_seconds_cumulative / 60:.1f} min), "
              f"originals {best.pred_originals:.2f}; last ratio {g.loss_ratio.iloc[-1]:.3f}, originals {g.pred_originals.iloc[-1]:.2f}")


if __name__ == "__main__":
    main()
