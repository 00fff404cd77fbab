"""``nnstructure reward-net``, ``noise-test``, ``predict-transitions`` and ``visualize-reward``: front ends to
:mod:`nnstructure.reward.steps` (the options parsed into each step's settings)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from nnstructure.network_io import ACCEPTED_FORMATS, add_allow_pickle_option

    p = subparsers.add_parser("reward-net", help="train a reward net on a transition dataset folder (thesis 5.3)")
    from nnstructure.reward.settings import REWARD_NET_SETTINGS, add_settings_options

    p.add_argument("--dataset", required=True, help="transition dataset folder (shards/, transitions.parquet)")
    add_settings_options(p.add_argument_group("reward-net settings (the same keys as a reward network set's 'train:')"),
                         REWARD_NET_SETTINGS, required=("epochs",))
    p.add_argument("--seed", type=int, required=True, help="initialisation, batch order and zero-reward discard")
    p.add_argument("--out", required=True, help="checkpoint (.pt); an interrupted run resumes from <out>.partial")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--summary", default=None, help="one-row results table (.parquet): test loss beside the mean-guessing baseline")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_reward_net)

    n = subparsers.add_parser("noise-test", help="rewards a reward net assigns to random-noise transitions (thesis Table 5.1)")
    n.add_argument("checkpoint", help=f"reward net mapping (batch, 6, 64, 64) transitions to 15 rewards (ours: from `nnstructure reward-net`): {ACCEPTED_FORMATS}")
    add_allow_pickle_option(n)
    n.add_argument("--n", type=int, default=100, help="number of random images (default 100, the thesis)")
    n.add_argument("--clip", action=argparse.BooleanOptionalAction, default=True,
                   help="clip the N(0.5, 1) pixels to [0, 1] (thesis text, default) or not (--no-clip: original code)")
    n.add_argument("--seed", type=int, default=0, help="seed of the noise images (default 0)")
    n.add_argument("--label", default=None, help="network name in the table (default: the checkpoint's file stem)")
    n.add_argument("--out", default=None, help="tidy table (.parquet): one row per pairing x image x action")
    n.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    n.add_argument("--json", action="store_true", help="print the summary as JSON lines instead of a text table")
    n.set_defaults(func=_noise_test)

    e = subparsers.add_parser("predict-transitions",
                              help="rewards a reward net assigns to the original and edited transitions (thesis Table 5.2)")
    e.add_argument("checkpoint", help=f"reward net mapping (batch, 6, 64, 64) transitions to 15 rewards (ours: from `nnstructure reward-net`): {ACCEPTED_FORMATS}")
    add_allow_pickle_option(e)
    e.add_argument("edits", help="folder of `nnstructure edit-transitions` (edited_transitions.npz)")
    e.add_argument("--label", default=None, help="network name in the table (default: the checkpoint's file stem)")
    e.add_argument("--out", default=None, help="tidy table (.parquet): one row per edit x transition")
    e.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    e.add_argument("--json", action="store_true", help="print the summary as JSON lines instead of a text table")
    e.set_defaults(func=_predict_transitions)

    v = subparsers.add_parser("visualize-reward", help="optimise inputs for a reward net's outputs (thesis 5.4)")
    v.add_argument("checkpoint", help=f"reward net mapping (batch, 6, 64, 64) transitions to 15 rewards (ours: from `nnstructure reward-net`): {ACCEPTED_FORMATS}")
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
    v.add_argument("--lr", type=float, default=0.05, help="Adam learning rate of the optimised inputs (default 0.05)")
    v.add_argument("--max-shift", type=int, default=8, help="random translation of up to this many pixels before each step")
    v.add_argument("--init-sd", type=float, default=1.0, help="denovo: s.d. of the initial Fourier modes (thesis: 1)")
    v.add_argument("--no-decorrelate", action="store_true", help="denovo: no colour decorrelation before the sigmoid")
    v.add_argument("--seed", type=int, default=0, help="seed of the initial inputs, translations and chosen transitions")
    v.add_argument("--label", default=None, help="network name in the table (default: the checkpoint's file stem)")
    v.add_argument("--out", required=True, help="output folder: predictions.parquet, images.npz, PNG figures")
    v.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    v.set_defaults(func=_visualize)


def _reward_net(args) -> int:
    from nnstructure.reward.settings import REWARD_NET_SETTINGS, settings_from_options
    from nnstructure.reward.steps import reward_net

    reward_net(args.dataset, args.out, settings_from_options(args, REWARD_NET_SETTINGS), seed=args.seed, log=args.log,
               summary=args.summary, device=args.device, threads=args.threads, progress=not args.quiet)
    return 0


def _noise_test(args) -> int:
    from nnstructure.reward.steps import noise_test

    noise_test(args.checkpoint, args.out, {"n": args.n, "clip": args.clip, "seed": args.seed}, label=args.label,
               device=args.device, allow_pickle=args.allow_pickle, json_summary=args.json)
    return 0


def _predict_transitions(args) -> int:
    from nnstructure.reward.steps import predict_edits

    predict_edits(args.checkpoint, args.edits, args.out, label=args.label, device=args.device,
                  allow_pickle=args.allow_pickle, json_summary=args.json)
    return 0


def _visualize(args) -> int:
    from nnstructure.reward.steps import visualize_reward

    snapshots = tuple(int(s) for s in args.snapshots.split(",") if s.strip())
    settings = {"mode": args.mode, "edit": args.edit, "n": args.n, "split": args.split, "steps": args.steps,
                "snapshots": snapshots, "lr": args.lr, "max_shift": args.max_shift, "init_sd": args.init_sd,
                "decorrelate": not args.no_decorrelate, "seed": args.seed}
    visualize_reward(args.checkpoint, args.out, settings, dataset=args.dataset, edits=args.edits, label=args.label,
                     device=args.device, allow_pickle=args.allow_pickle)
    return 0
