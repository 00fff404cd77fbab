"""Transition-dataset commands: ``transitions`` (one shard), ``transitions-merge``,
``transitions-import`` (imitation npz) and ``edit-transitions`` (Table 5.2's edits).

The workflow runs one ``transitions`` job per shard (any order, in parallel) and
then one ``transitions-merge`` job over the dataset folder. The workflow's steps
are functions of :mod:`nnstructure.reward.steps`; these commands parse their
options into those functions' settings.
"""

from __future__ import annotations

import argparse

from nnstructure.reward.state import GAMES


def register(subparsers) -> None:
    p = subparsers.add_parser("transitions", help="roll out one shard of a procgen transition dataset (CoinRun/Heist)")
    p.add_argument("--game", choices=GAMES, required=True, help="procgen game to roll out")
    p.add_argument("--policy", choices=("lookahead", "maze", "random"), default=None,
                   help="lookahead (CoinRun), maze (Heist) or random; default: lookahead for coinrun, random for heist "
                        "(the thesis's Heist statistics match a random policy)")
    p.add_argument("--episodes", type=int, required=True, help="episodes in this shard (the same for every shard)")
    p.add_argument("--shard", type=int, required=True, help="shard index: plays levels level_start + shard*episodes + j")
    p.add_argument("--seed", type=int, default=0, help="dataset seed: random actions, discard filter, default level range")
    p.add_argument("--out", required=True, help="dataset folder (the shard goes to OUT/shards/)")
    p.add_argument("--distribution-mode", choices=("easy", "hard"), default="hard", help="procgen distribution mode (default hard)")
    p.add_argument("--random-rate", type=float, default=None,
                   help="probability of a uniformly random action (default: lookahead 0.15, maze 0)")
    p.add_argument("--zero-reward-discard", type=float, default=None,
                   help="fraction of zero-reward transitions dropped (default: heist 0.95, coinrun 0)")
    p.add_argument("--level-start", type=int, default=None, help="first level seed (default: seed * 1,000,000)")
    p.add_argument("--horizon", type=int, default=None, help="lookahead: steps simulated per plan (default 24)")
    p.add_argument("--prefix", type=int, default=None, help="lookahead: manoeuvre length of each plan (default 8)")
    p.add_argument("--replan-every", type=int, default=None, help="lookahead: actions executed per plan (default 6)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_transitions)

    m = subparsers.add_parser("transitions-merge", help="merge a dataset's shards into transitions.parquet + summary.parquet")
    m.add_argument("dataset", help="dataset folder holding shards/")
    m.add_argument("--expect-shards", type=int, default=None, help="fail unless shards 0..N-1 are all present")
    m.add_argument("--test-fraction", type=float, default=0.1, help="fraction of episodes in the test split")
    m.add_argument("--split-seed", type=int, default=0, help="seed of the episodes' train/test split (default 0)")
    m.set_defaults(func=_merge)

    i = subparsers.add_parser("transitions-import", help="import rollouts in the imitation library's npz layout as a dataset")
    i.add_argument("npz", help="file with obs, acts, infos, terminal, rews, indices")
    i.add_argument("--out", required=True, help="dataset folder to create")
    i.add_argument("--game", choices=GAMES, required=True, help="procgen game the rollouts were recorded in")
    i.add_argument("--distribution-mode", choices=("easy", "hard"), default=None,
                   help="procgen distribution mode the rollouts were recorded in (default: recorded as unknown)")
    i.add_argument("--episodes-per-shard", type=int, default=100, help="episodes per dataset shard (default 100)")
    i.add_argument("--zero-reward-discard", type=float, default=0.0,
                   help="fraction of zero-reward transitions dropped (default 0: keep all)")
    i.add_argument("--seed", type=int, default=0, help="seeds the discard filter and the train/test split")
    i.add_argument("--trust-pickle", action="store_true", help="read the pickled infos (only for files you trust)")
    i.add_argument("--ignore-infos", action="store_true", help="import without the infos (no positions)")
    i.set_defaults(func=_import)

    e = subparsers.add_parser("edit-transitions", help="Table 5.2's edited CoinRun transitions, made in the game state")
    e.add_argument("dataset", help="CoinRun dataset folder (merged)")
    e.add_argument("--n", type=int, default=16, help="number of transitions (thesis: 16)")
    e.add_argument("--seed", type=int, default=0, help="order in which rewarded transitions are tried")
    e.add_argument("--shifts", default="-3,-2,-4", help="translation in cells, tried in order (negative: left)")
    e.add_argument("--out", required=True, help="output folder (npz, parquet tables, figures)")
    e.set_defaults(func=_edit)


def _transitions(args: argparse.Namespace) -> int:
    from nnstructure.reward.steps import transition_shard

    settings = {"game": args.game, "episodes_per_shard": args.episodes, "shard": args.shard, "seed": args.seed,
                "distribution_mode": args.distribution_mode, "policy": args.policy, "random_rate": args.random_rate,
                "zero_reward_discard": args.zero_reward_discard, "level_start": args.level_start,
                "horizon": args.horizon, "prefix": args.prefix, "replan_every": args.replan_every}
    transition_shard(args.out, settings, progress=not args.quiet)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from nnstructure.reward.steps import transitions_merge

    transitions_merge(args.dataset, {"shards": args.expect_shards, "test_fraction": args.test_fraction,
                                     "split_seed": args.split_seed})
    return 0


def _import(args: argparse.Namespace) -> int:
    from nnstructure.reward.imitation_import import import_imitation_npz
    from nnstructure.reward.shards import merge_dataset

    n = import_imitation_npz(args.npz, args.out, args.game, distribution_mode=args.distribution_mode or "unknown",
                             episodes_per_shard=args.episodes_per_shard, zero_reward_discard=args.zero_reward_discard,
                             seed=args.seed, trust_pickle=args.trust_pickle, ignore_infos=args.ignore_infos)
    _, summary = merge_dataset(args.out, expect_shards=n, split_seed=args.seed)
    print(summary.T.to_string(header=False))
    return 0


def _edit(args: argparse.Namespace) -> int:
    from nnstructure.reward.steps import edit_transitions

    try:
        shifts = tuple(int(s) for s in args.shifts.split(","))
    except ValueError as exc:
        raise ValueError(f"--shifts must be comma-separated integers, got {args.shifts!r}") from exc
    edit_transitions(args.dataset, args.out, {"n": args.n, "seed": args.seed, "shifts": shifts})
    return 0
