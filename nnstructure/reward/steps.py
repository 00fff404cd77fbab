"""Chapter 5's workflow steps on reward nets, each ``(input paths, output paths, settings) -> None``.

Transition datasets: :func:`transition_shard` (one shard), :func:`transitions_merge`,
:func:`edit_transitions` (Table 5.2's edits). Networks: :func:`reward_net` and
:func:`adversarial_net` (thesis 5.3, 5.8). Tests of a reward net:
:func:`noise_test` (Table 5.1), :func:`predict_edits` (Table 5.2) and
:func:`visualize_reward` (5.4). The scripts in ``workflow_scripts/`` call them
with a rule's params as the settings; the ``nnstructure`` commands
(``transitions``, ``transitions-merge``, ``edit-transitions``, ``reward-net``,
``adversarial-train``, ``noise-test``, ``predict-transitions``,
``visualize-reward``) parse their options into the same settings.

Settings are plain values: a network's are those of its table in
:mod:`nnstructure.reward.settings`; the others' defaults are the ``*_DEFAULTS``
tables here (the commands' option defaults). The name a network has in the
tables (``label``), the device and the thread count are keyword arguments, not
settings: they do not change what a step computes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from nnstructure.step_settings import as_float, as_int, step_settings, table_settings

#: ``transition_shard``: the game, the shard's size and index (required) and how it is played.
SHARD_DEFAULTS: dict[str, Any] = {
    "seed": 0, "distribution_mode": "hard", "policy": None, "random_rate": None, "zero_reward_discard": None,
    "level_start": None, "horizon": None, "prefix": None, "replan_every": None,
}
SHARD_REQUIRED = ("game", "episodes_per_shard", "shard")
#: ``transitions_merge``: ``shards`` (fail unless shards 0..shards-1 are all there; None: any) and the split.
MERGE_DEFAULTS: dict[str, Any] = {"shards": None, "test_fraction": 0.1, "split_seed": 0}
#: ``edit_transitions``: how many transitions, the order they are tried in, the translations tried (cells).
EDIT_DEFAULTS: dict[str, Any] = {"n": 16, "seed": 0, "shifts": (-3, -2, -4)}
#: ``noise_test``: random images (thesis: 100), clipped to [0, 1] (thesis text) or not (original code).
NOISE_DEFAULTS: dict[str, Any] = {"n": 100, "clip": True, "seed": 0}
#: ``visualize_reward``: the mode (required: denovo, from-dataset, from-edits) and the optimisation.
VISUALIZE_DEFAULTS: dict[str, Any] = {
    "edit": "translated", "n": 16, "split": "test", "steps": None, "snapshots": (8, 16, 32, 64, 128), "lr": 0.05,
    "max_shift": 8, "init_sd": 1.0, "decorrelate": True, "seed": 0,
}


# ---------------------------------------------------------------------------------------------
# Transition datasets


def transition_shard(out, settings: Mapping[str, Any], *, progress: bool = True) -> None:
    """Roll out one shard of a procgen transition dataset into the dataset folder ``out`` (its ``shards/``)."""
    from nnstructure.reward.rollout import ShardSpec, generate_shard

    s = step_settings("transition_shard", settings, SHARD_DEFAULTS, required=SHARD_REQUIRED)
    options = {k: as_int(s[k]) for k in ("horizon", "prefix", "replan_every") if s[k] is not None}
    spec = ShardSpec(s["game"], as_int(s["shard"]), as_int(s["episodes_per_shard"]), seed=as_int(s["seed"]),
                     distribution_mode=s["distribution_mode"], policy=s["policy"], random_rate=as_float(s["random_rate"]),
                     zero_reward_discard=as_float(s["zero_reward_discard"]), level_start=as_int(s["level_start"]),
                     policy_options=options)
    if options and spec.policy_name != "lookahead":
        raise ValueError("--horizon, --prefix and --replan-every are options of the lookahead policy")
    result = generate_shard(spec, out, progress=progress)
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}))


def transitions_merge(dataset, settings: Mapping[str, Any]) -> None:
    """Merge the shards of the dataset folder ``dataset`` into its transitions.parquet and summary.parquet."""
    from nnstructure.reward.shards import merge_dataset

    s = step_settings("transitions_merge", settings, MERGE_DEFAULTS)
    _, summary = merge_dataset(dataset, expect_shards=as_int(s["shards"]), test_fraction=as_float(s["test_fraction"]),
                               split_seed=as_int(s["split_seed"]))
    print(summary.T.to_string(header=False))


def edit_transitions(dataset, out, settings: Mapping[str, Any]) -> None:
    """Table 5.2's edited transitions of the CoinRun dataset folder ``dataset``, made in the game state, into
    the folder ``out`` (npz, parquet tables, figures)."""
    from nnstructure.reward.edits import make_edited_transitions

    s = step_settings("edit_transitions", settings, EDIT_DEFAULTS)
    shifts = tuple(as_int(v) for v in s["shifts"])
    result = make_edited_transitions(dataset, out, n=as_int(s["n"]), seed=as_int(s["seed"]), shifts=shifts)
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Networks


def reward_net(dataset, out, settings: Mapping[str, Any], *, seed: int, log=None, summary=None, device="auto",
               threads: int | None = None, progress: bool = True) -> None:
    """Train a reward net (settings: :data:`~nnstructure.reward.settings.REWARD_NET_SETTINGS`) on the transition
    dataset folder ``dataset`` into the checkpoint ``out`` (resuming from ``<out>.partial``); ``log``: per-epoch
    metrics, ``summary``: its one-row results table."""
    from nnstructure.reward.nets import reward_net_row, train_reward_net
    from nnstructure.reward.settings import REWARD_NET_SETTINGS

    s = table_settings("reward_net", settings, REWARD_NET_SETTINGS)
    if s.get("epochs") is None:
        raise ValueError("reward_net: setting epochs required")
    meta = train_reward_net(dataset, s, as_int(seed), out, log=log, device=device, threads=threads, progress=progress)
    row = reward_net_row(out)
    if summary:
        import pandas as pd

        from nnstructure.io import write_parquet

        write_parquet(pd.DataFrame([row]), summary)
    print(json.dumps({k: row[k] for k in ("game", "epochs", "width_multiplier", "train_loss", "test_loss", "mean_guess_test_mse")}
                     | {"phase": meta["phase"]}))


def adversarial_net(dataset, out, examples, settings: Mapping[str, Any], *, seed: int, log=None, summary=None,
                    epochs_table=None, device="auto", progress: bool = True) -> None:
    """Adversarially train a reward net (settings: :data:`~nnstructure.reward.settings.ADVERSARIAL_SETTINGS`, and
    ``adversarial_fraction``, which overrides the ``variant``'s) on the transition dataset folder ``dataset``
    into the checkpoint ``out``, its example sets into the folder ``examples``; ``log``: per-epoch metrics,
    ``summary``: the run's section-5.8 numbers, ``epochs_table``: per-epoch clipping and example statistics."""
    import pandas as pd

    from nnstructure.io import write_parquet
    from nnstructure.reward.adversarial import FRACTIONS, adversarial_epochs_table, adversarial_train
    from nnstructure.reward.settings import ADVERSARIAL_SETTINGS

    s = table_settings("adversarial_net", settings, ADVERSARIAL_SETTINGS, extra=("adversarial_fraction",))
    fraction = as_float(s["adversarial_fraction"]) if "adversarial_fraction" in s else FRACTIONS[s["variant"]]
    # The training settings in the table's order, the fraction in the variant's place.
    train = {k: s[k] for k in ("epochs", "batch_size", "lr", "first_adversarial_epoch")}
    train["adversarial_fraction"] = fraction
    train.update({k: v for k, v in s.items() if k not in train and k != "variant"})
    result = adversarial_train(dataset, train, as_int(seed), out, examples, log=log, device=device, progress=progress)
    if summary:
        write_parquet(pd.DataFrame([result]), summary)
    if epochs_table:
        write_parquet(adversarial_epochs_table(examples, log), epochs_table)
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Tests of a reward net


def noise_test(checkpoint, out, settings: Mapping[str, Any], *, label: str | None = None, device="auto",
               allow_pickle: bool = False, json_summary: bool = False) -> None:
    """Rewards the reward net ``checkpoint`` assigns to random-noise transitions (thesis Table 5.1): the tidy
    table ``out`` (one row per pairing x image x action; none if ``None``), its summary printed."""
    from nnstructure.reward.noise import noise_test_checkpoint, summarize_predictions

    s = step_settings("noise_test", settings, NOISE_DEFAULTS)
    df = noise_test_checkpoint(checkpoint, n=as_int(s["n"]), clip=bool(s["clip"]), seed=as_int(s["seed"]), network=label,
                               device=device, allow_pickle=allow_pickle)
    _write_and_print(df, out, json_summary, summarize_predictions(df),
                     lambda row: f"{row.network}  {row.pairing:9s}  {row.mean:10.3f} +- {row.sd:.3f}  (n={row.count}, {row.noise_variant})")


def predict_edits(checkpoint, edits, out, *, label: str | None = None, device="auto", allow_pickle: bool = False,
                  json_summary: bool = False) -> None:
    """Rewards the reward net ``checkpoint`` assigns to the original and edited transitions of the folder
    ``edits`` (thesis Table 5.2): the tidy table ``out`` (one row per edit x transition), its summary printed."""
    from nnstructure.reward.noise import predict_edits_checkpoint, summarize_predictions

    df = predict_edits_checkpoint(checkpoint, edits, network=label, device=device, allow_pickle=allow_pickle)
    _write_and_print(df, out, json_summary, summarize_predictions(df, by=("network", "edit")),
                     lambda row: f"{row.network}  {row.edit:10s}  {row.mean:8.3f} +- {row.sd:.3f}  (n={row.count})")


def _write_and_print(df, out, json_summary: bool, summary, line) -> None:
    """Write the prediction table to ``out``; print its summary, one JSON object or one ``line(row)`` per row."""
    from nnstructure.io import write_parquet

    if out:
        write_parquet(df, out)
    rows = summary.to_dict(orient="records") if json_summary else summary.itertuples()
    for row in rows:
        print(json.dumps(row) if json_summary else line(row))


def visualize_reward(checkpoint, out, settings: Mapping[str, Any], *, dataset=None, edits=None,
                     label: str | None = None, device="auto", allow_pickle: bool = False) -> None:
    """Inputs optimised for the reward net ``checkpoint``'s outputs (thesis 5.4) into the folder ``out``
    (predictions.parquet, images.npz, PNG figures): ``mode`` denovo (Fourier-space synthesis per action),
    from-dataset (rewarded test transitions of the dataset folder ``dataset``) or from-edits (the ``edit``
    transitions of the edited-transitions folder ``edits``)."""
    import torch

    from nnstructure.io import write_parquet
    from nnstructure.reward import visualize as vis_mod
    from nnstructure.reward.nets import load_reward_net
    from nnstructure.reward.terminal_frames import network_terminal_frame

    s = step_settings("visualize_reward", settings, VISUALIZE_DEFAULTS, required=("mode",))
    mode, seed, lr, max_shift = s["mode"], as_int(s["seed"]), as_float(s["lr"]), as_int(s["max_shift"])
    steps = as_int(s["steps"])
    snapshots = tuple(as_int(v) for v in s["snapshots"])
    ckpt = load_reward_net(checkpoint, device, allow_pickle=allow_pickle)
    model, spec = ckpt.model, ckpt.metadata["spec"]
    terminal_frame = network_terminal_frame(ckpt.metadata)  # the transitions as the net was trained on them
    frame_shape = (3, *spec["input_shape"][1:])
    label = label or Path(checkpoint).stem
    out = Path(out)
    if mode == "denovo":
        vis = vis_mod.synthesize_denovo(model, frame_shape, steps=steps or 512, lr=lr, max_shift=max_shift,
                                        sd=as_float(s["init_sd"]), decorrelate=bool(s["decorrelate"]), seed=seed,
                                        snapshots=snapshots)
        table = vis.table("denovo", label)
        write_parquet(vis_mod.denovo_controls(model, vis, label, seed), out / "controls.parquet")
        final = len(vis.steps) - 1
        titles = [f"action {int(a)}: {float(r):.4g}" for a, r in zip(vis.actions, vis.rewards[final])]
        vis_mod.plot_transitions(vis_mod.to_uint8(vis.obs[final]), vis_mod.to_uint8(vis.next_obs[final]), titles,
                                 out / "denovo.png", suptitle=f"{label}: de novo, {vis.steps[final]} steps")
    elif mode in ("from-dataset", "from-edits"):
        if mode == "from-dataset":
            if not dataset:
                raise ValueError("--mode from-dataset needs --dataset (the transition dataset folder)")
            from nnstructure.reward.transitions import TransitionDataset

            start = vis_mod.high_reward_transitions(model, TransitionDataset(dataset, terminal_frame=terminal_frame),
                                                    n=as_int(s["n"]), split=s["split"])
            items = start["row"].numpy()
        else:
            if not edits:
                raise ValueError("--mode from-edits needs --edits (the edited-transitions folder)")
            from nnstructure.reward.noise import load_edit_sets
            from nnstructure.reward.terminal_frames import edit_sets_with_terminal_frame

            sets = edit_sets_with_terminal_frame(load_edit_sets(edits), terminal_frame)
            if s["edit"] not in sets:
                raise ValueError(f"--edit {s['edit']!r} is not in {edits}; it holds {', '.join(sets)}")
            start = sets[s["edit"]]
            items = start["example"]
        vis = vis_mod.optimize_transitions(model, torch.as_tensor(start["obs"]), torch.as_tensor(start["next_obs"]),
                                           torch.as_tensor(start["action"]), steps=steps or 128, lr=lr,
                                           max_shift=max_shift, seed=seed, snapshots=snapshots)
        table = vis.table(mode, label, items)
        vis_mod.plot_snapshots(vis, out / f"{mode}.png", items=range(min(4, len(vis.actions))),
                               suptitle=f"{label}: {mode}, pixel-space optimisation")
    else:
        raise ValueError(f"visualize_reward: mode must be denovo, from-dataset or from-edits, got {mode!r}")
    vis.save_npz(out / "images.npz")
    write_parquet(table, out / "predictions.parquet")
    final = table[table["step"] == table["step"].max()]["predicted_reward"]
    print(json.dumps({"mode": mode, "network": label, "steps": int(table["step"].max()),
                      "final_mean_predicted_reward": float(final.mean()),
                      "final_sd": float(final.std()) if len(final) > 1 else None, "out": str(out)}))
