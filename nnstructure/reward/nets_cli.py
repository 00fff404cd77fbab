"""``nnstructure reward-net``, ``noise-test``, ``predict-transitions`` and ``visualize-reward``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("reward-net", help="train a reward net on a transition dataset folder (thesis 5.3)")
    p.add_argument("--dataset", required=True, help="transition dataset folder (shards/, transitions.parquet)")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--width-multiplier", type=float, default=1.0,
                   help="scales the 96,256,384,384,256 channels (1.0: the thesis's network)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--init", choices=("torch", "glorot"), default="torch",
                   help="initialisation: PyTorch's default (original code; default) or Glorot-uniform")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="checkpoint (.pt); an interrupted run resumes from <out>.partial")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--summary", default=None, help="one-row results table (.parquet): test loss beside the mean-guessing baseline")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_reward_net)


def _reward_net(args) -> int:
    from nnstructure.reward.nets import reward_net_row, train_reward_net

    settings = {"epochs": args.epochs, "width_multiplier": args.width_multiplier, "batch_size": args.batch_size,
                "lr": args.lr, "init": args.init}
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
