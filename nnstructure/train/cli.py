"""``nnstructure train`` and ``nnstructure evaluate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--widths takes comma-separated integers like 256,256,256,256, got {text!r}")
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"--widths needs at least one positive width, got {text!r}")
    return widths


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train (and prune) an MLP, small CNN or VGG; write its checkpoint")
    p.add_argument("--arch", choices=["mlp", "cnn", "vgg"], required=True)
    p.add_argument("--dataset", required=True, help="dataset name (built with --data-dir) or path to a .npz dataset artifact")
    p.add_argument("--data-dir", default=None, help="folder with the real datasets (needed when --dataset is a name)")
    p.add_argument("--epochs", type=int, required=True, help="unpruned epochs")
    p.add_argument("--prune-epochs", type=int, required=True, help="epochs of training with pruning after them")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dropout", type=float, default=0.0, help="MLP dropout rate; for cnn/vgg any value > 0 enables their per-layer rates")
    p.add_argument("--l1", type=float, default=0.0)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--initial-sparsity", type=float, default=0.5)
    p.add_argument("--final-sparsity", type=float, default=0.9)
    p.add_argument("--clusterable-init", action="store_true")
    p.add_argument("--ci-groups", type=int, default=10)
    p.add_argument("--ci-beta", type=float, default=None, help="default 0.6 (mlp) / 0.8 (cnn, vgg)")
    p.add_argument("--spectral-reg", type=float, default=0.0, help="weight of the eigenvalue clusterability regularizer (mlp only)")
    p.add_argument("--spectral-reduction", choices=("sum", "mean"), default="sum",
                   help="sum of the regularised eigenvalues (thesis text, default) or their mean (original code)")
    p.add_argument("--widths", type=_widths, default=None, help="MLP hidden widths, e.g. 256,256,256,256")
    p.add_argument("--no-shuffle", action="store_true", help="keep the training order fixed")
    p.add_argument("--augment", action="store_true", help="CIFAR-style augmentation (rotations, shifts, flips)")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="final checkpoint (.pt)")
    p.add_argument("--unpruned-out", default=None, help="checkpoint of the network at the end of the unpruned phase")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--device", default="auto")
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
    from nnstructure.models import model_spec
    from nnstructure.train import TrainConfig, train_network

    dataset = resolve_dataset(args.dataset, args.data_dir, args.seed)
    spec = model_spec(args.arch, dataset.input_shape, dataset.n_outputs, widths=args.widths, dropout=args.dropout)
    config = TrainConfig(
        epochs=args.epochs, prune_epochs=args.prune_epochs, batch_size=args.batch_size, lr=args.lr,
        l1=args.l1, l2=args.l2, initial_sparsity=args.initial_sparsity, final_sparsity=args.final_sparsity,
        clusterable_init=args.clusterable_init, ci_groups=args.ci_groups, ci_beta=args.ci_beta,
        spectral_reg=args.spectral_reg, spectral_reduction=args.spectral_reduction, shuffle=not args.no_shuffle, augment=args.augment,
    )
    meta = train_network(
        dataset, spec, config, args.seed, args.out, unpruned_out=args.unpruned_out, log=args.log,
        device=args.device, extra_metadata={"dataset_source": args.dataset, "data_dir": args.data_dir},
        progress=not args.quiet,
    )
    summary = {k: meta[k] for k in ("phase", "train_accuracy", "test_accuracy", "train_loss", "test_loss", "sparsity")}
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
