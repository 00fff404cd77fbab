"""``nnstructure reward-net``, ``noise-test``, ``predict-transitions`` and ``visualize-reward``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    from nnstructure.network_io import add_allow_pickle_option

    p = subparsers.add_parser("reward-net", help="train a reward net on a transition dataset folder (thesis 5.3)")
    from nnstructure.reward.settings import REWARD_NET_SETTINGS, add_settings_options

    p.add_argument("--dataset", required=True, help="transition dataset folder (shards/, transitions.parquet)")
    add_settings_options(p.add_argument_group("reward-net settings (the same keys as a reward network set's 'train:')"),
                         REWARD_NET_SETTINGS, required=("epochs",))
    p.add_argument("--seed", type=int, required=True, help="initialisation, batch order and zero-reward discard")
    p.add_argument("--out", required=True, help="checkpoint (.pt); an interrupted run resumes from <out>.partial")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--summary", default=None, help="one-row results table (.parquet): test loss beside the mean-guessing baseline")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_reward_net)

    n = subparsers.add_parser("noise-test", help="rewards a reward net assigns to random-noise transitions (thesis Table 5.1)")
    n.add_argument("checkpoint")
    add_allow_pickle_option(n)
    n.add_argument("--n", type=int, default=100, help="number of random images (default 100, the thesis)")
    n.add_argument("--clip", action=argparse.BooleanOptionalAction, default=True,
                   help="clip the N(0.5, 1) pixels to [0, 1] (thesis text, default) or not (--no-clip: original code)")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--label", default=None, help="network name in the table (default: the checkpoint's file stem)")
    n.add_argument("--out", default=None, help="tidy table (.parquet): one row per pairing x image x action")
    n.add_argument("--device", default="auto")
    n.add_argument("--json", action="store_true", help="print the summary as JSON lines instead of a text table")
    n.set_defaults(func=_noise_test)

    e = subparsers.add_parser("predict-transitions",
                              help="rewards a reward net assigns to the original and edited transitions (thesis Table 5.2)")
    e.add_argument("checkpoint")
    add_allow_pickle_option(e)
    e.add_argument("edits", help="folder of `nnstructure edit-transitions` (edited_transitions.npz)")
    e.add_argument("--label", default=None, help="network name in the table (default: the checkpoint's file stem)")
    e.add_argument("--out", default=None, help="tidy table (.parquet): one row per edit x transition")
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true", help="print the summary as JSON lines instead of a text table")
    e.set_defaults(func=_predict_transitions)

    v = subparsers.add_parser("visualize-reward", help="optimise inputs for a reward net's outputs (thesis 5.4)")
    v.add_argument("checkpoint")
    add_allow_pickle_option(v)
    v.add_argument("--mode", choices=("denovo", "from-dataset", "from-edits"), required=True,
                   help="denovo: Fourier-space synthesis per action; from-dataset: rewarded test transitions predicted ~10; "
                        "from-edits: the translated edited transitions")
    v.add_argument("--dataset", default=None, help="transition dataset folder (from-dataset)")
    v.add_argument("--edits", default=None, help="edited-transitions folder (from-edits)")
    v.add_argument("--edit", default="translated", help="which edit to start from (from-edits; default translated)")
    v.add_argument("--n", type=int, default=16, help="number of starting transitions (from-dataset)")
    v.add_argument("--split", choices=("train", "test"), default="test", help="split to take starting transitions from (from-dataset)")
    v.add_argument("--steps", type=int, default=None, help="optimisation steps (default 512 denovo, 128 otherwise)")
    v.add_argument("--snapshots", default="8,16,32,64,128", help="steps at which images are kept (comma-separated)")
    v.add_argument("--lr", type=float, default=0.05)
    v.add_argument("--max-shift", type=int, default=8, help="random translation of up to this many pixels before each step")
    v.add_argument("--init-sd", type=float, default=1.0, help="denovo: s.d. of the initial Fourier modes (thesis: 1)")
    v.add_argument("--no-decorrelate", action="store_true", help="denovo: no colour decorrelation before the sigmoid")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--label", default=None)
    v.add_argument("--out", required=True, help="output folder: predictions.parquet, images.npz, PNG figures")
    v.add_argument("--device", default="auto")
    v.set_defaults(func=_visualize)


def _reward_net(args) -> int:
    from nnstructure.reward.nets import reward_net_row, train_reward_net
    from nnstructure.reward.settings import REWARD_NET_SETTINGS, settings_from_options

    settings = settings_from_options(args, REWARD_NET_SETTINGS)
    meta = train_reward_net(args.dataset, settings, args.seed, args.out, log=args.log, device=args.device,
                            threads=args.threads, progress=not args.quiet)
    row = reward_net_row(args.out)
    if args.summary:
        import pandas as pd

        from nnstructure.io import write_parquet

        write_parquet(pd.DataFrame([row]), args.summary)
    print(json.dumps({k: row[k] for k in ("game", "epochs", "width_multiplier", "train_loss", "test_loss", "mean_guess_test_mse")}
                     | {"phase": meta["phase"]}))
    return 0


def _noise_test(args) -> int:
    from nnstructure.reward.noise import noise_test_checkpoint, summarize_predictions

    df = noise_test_checkpoint(args.checkpoint, n=args.n, clip=args.clip, seed=args.seed, network=args.label, device=args.device,
                               allow_pickle=args.allow_pickle)
    _write_and_print(df, args, summarize_predictions(df),
                     lambda row: f"{row.network}  {row.pairing:9s}  {row.mean:10.3f} +- {row.sd:.3f}  (n={row.count}, {row.noise_variant})")
    return 0


def _predict_transitions(args) -> int:
    from nnstructure.reward.noise import predict_edits_checkpoint, summarize_predictions

    df = predict_edits_checkpoint(args.checkpoint, args.edits, network=args.label, device=args.device,
                                  allow_pickle=args.allow_pickle)
    _write_and_print(df, args, summarize_predictions(df, by=("network", "edit")),
                     lambda row: f"{row.network}  {row.edit:10s}  {row.mean:8.3f} +- {row.sd:.3f}  (n={row.count})")
    return 0


def _write_and_print(df, args, summary, line) -> None:
    """Write the prediction table to --out; print its summary, one JSON object or one ``line(row)`` per row."""
    from nnstructure.io import write_parquet

    if args.out:
        write_parquet(df, args.out)
    rows = summary.to_dict(orient="records") if args.json else summary.itertuples()
    for row in rows:
        print(json.dumps(row) if args.json else line(row))


def _visualize(args) -> int:
    import torch

    from nnstructure.io import write_parquet
    from nnstructure.reward import visualize as vis_mod
    from nnstructure.reward.nets import load_reward_net

    ckpt = load_reward_net(args.checkpoint, args.device, allow_pickle=args.allow_pickle)
    model, spec = ckpt.model, ckpt.metadata["spec"]
    frame_shape = (3, *spec["input_shape"][1:])
    label = args.label or Path(args.checkpoint).stem
    out = Path(args.out)
    snapshots = tuple(int(s) for s in args.snapshots.split(",") if s.strip())
    if args.mode == "denovo":
        vis = vis_mod.synthesize_denovo(model, frame_shape, steps=args.steps or 512, lr=args.lr, max_shift=args.max_shift,
                                        sd=args.init_sd, decorrelate=not args.no_decorrelate, seed=args.seed, snapshots=snapshots)
        table = vis.table("denovo", label)
        write_parquet(vis_mod.denovo_controls(model, vis, label, args.seed), out / "controls.parquet")
        final = len(vis.steps) - 1
        titles = [f"action {int(a)}: {float(r):.4g}" for a, r in zip(vis.actions, vis.rewards[final])]
        vis_mod.plot_transitions(vis_mod.to_uint8(vis.obs[final]), vis_mod.to_uint8(vis.next_obs[final]), titles,
                                 out / "denovo.png", suptitle=f"{label}: de novo, {vis.steps[final]} steps")
    else:
        if args.mode == "from-dataset":
            if not args.dataset:
                raise ValueError("--mode from-dataset needs --dataset (the transition dataset folder)")
            from nnstructure.reward.transitions import TransitionDataset

            start = vis_mod.high_reward_transitions(model, TransitionDataset(args.dataset), n=args.n, split=args.split)
            items = start["row"].numpy()
        else:
            if not args.edits:
                raise ValueError("--mode from-edits needs --edits (the edited-transitions folder)")
            from nnstructure.reward.noise import load_edit_sets

            sets = load_edit_sets(args.edits)
            if args.edit not in sets:
                raise ValueError(f"--edit {args.edit!r} is not in {args.edits}; it holds {', '.join(sets)}")
            start = sets[args.edit]
            items = start["example"]
        vis = vis_mod.optimize_transitions(model, torch.as_tensor(start["obs"]), torch.as_tensor(start["next_obs"]),
                                           torch.as_tensor(start["action"]), steps=args.steps or 128, lr=args.lr,
                                           max_shift=args.max_shift, seed=args.seed, snapshots=snapshots)
        table = vis.table(args.mode, label, items)
        vis_mod.plot_snapshots(vis, out / f"{args.mode}.png", items=range(min(4, len(vis.actions))),
                               suptitle=f"{label}: {args.mode}, pixel-space optimisation")
    vis.save_npz(out / "images.npz")
    write_parquet(table, out / "predictions.parquet")
    final = table[table["step"] == table["step"].max()]["predicted_reward"]
    print(json.dumps({"mode": args.mode, "network": label, "steps": int(table["step"].max()),
                      "final_mean_predicted_reward": float(final.mean()),
                      "final_sd": float(final.std()) if len(final) > 1 else None, "out": str(out)}))
    return 0
