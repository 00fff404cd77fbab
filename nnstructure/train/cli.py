"""``nnstructure train`` and ``nnstructure evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

from nnstructure.train.config import add_setting_options, settings_from_options


def resolve_dataset(name_or_path: str, data_dir: str | None, seed: int):
    """A dataset from an ``.npz`` artifact path, or built by name with ``make_dataset``."""
    from nnstructure.data.dataset import load_dataset

    path = Path(name_or_path)
    if path.suffix == ".npz" or path.exists():
        return load_dataset(path)
    if data_dir is None:
        raise ValueError(f"dataset {name_or_path!r} is a name, so --data-dir (the folder with mnist/, fashion-mnist/, ...) is needed")
    from nnstructure.data import make_dataset

    return make_dataset(name_or_path, data_dir, seed=seed)


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train (and prune) an MLP, small CNN or VGG; write its checkpoint")
    p.add_argument("--arch", choices=["mlp", "cnn", "vgg"], required=True)
    p.add_argument("--dataset", required=True, help="dataset name (built with --data-dir) or path to a .npz dataset artifact")
    p.add_argument("--data-dir", default=None, help="folder with the real datasets (needed when --dataset is a name)")
    add_setting_options(p)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="final checkpoint (.pt)")
    p.add_argument("--unpruned-out", default=None, help="checkpoint of the network at the end of the unpruned phase")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    e = subparsers.add_parser("evaluate", help="accuracy, loss and sparsity of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", default=None, help="name or .npz path; default: the dataset the network was trained on")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true", help="print one JSON object (the default output format too)")
    e.set_defaults(func=_evaluate)


def _train(args) -> int:
    from nnstructure.train import train_from_settings

    dataset = resolve_dataset(args.dataset, args.data_dir, args.seed)
    meta = train_from_settings(
        dataset, args.arch, settings_from_options(args), args.seed, args.out, unpruned_out=args.unpruned_out,
        log=args.log, device=args.device, threads=args.threads, progress=not args.quiet,
        extra_metadata={"dataset_source": args.dataset, "data_dir": args.data_dir},
    )
    summary = {k: meta[k] for k in ("phase", "train_accuracy", "test_accuracy", "train_loss", "test_loss", "sparsity", "device")}
    print(json.dumps(summary))
    return 0


def _evaluate(args) -> int:
    from nnstructure.checkpoint import load_checkpoint
    from nnstructure.train import evaluate

    ckpt = load_checkpoint(args.checkpoint)
    meta = ckpt.metadata
    source = args.dataset or meta.get("dataset_source") or meta.get("dataset")
    data_dir = args.data_dir or meta.get("data_dir")
    dataset = resolve_dataset(source, data_dir, int(meta.get("seed", 0)))
    result = {"checkpoint": str(args.checkpoint), "dataset": dataset.name, "phase": meta.get("phase"), **evaluate(ckpt.model, dataset, args.device)}
    print(json.dumps(result))
    return 0
