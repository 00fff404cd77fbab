"""``nnstructure train`` and ``nnstructure evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

from nnstructure.network_io import ACCEPTED_FORMATS, add_allow_pickle_option
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
    p = subparsers.add_parser(
        "train", help="train (and prune) an MLP, small CNN or VGG; write its checkpoint",
        description="Train (and prune) a network and write its checkpoint. Interrupted runs resume: after every "
                    "epoch the run's state is saved to OUT.partial, and the same command run again continues from "
                    "it (printing 'resuming from OUT.partial at epoch k of n'), ending with the weights an "
                    "uninterrupted run gives on CPU; a run with other settings starts afresh.",
    )
    p.add_argument("--arch", choices=["mlp", "cnn", "vgg"], required=True,
                   help="network: a 4x256 MLP, the small CNN or VGG-16 (thesis 3.3, 3.4)")
    p.add_argument("--dataset", required=True, help="dataset name (built with --data-dir) or path to a .npz dataset artifact")
    p.add_argument("--data-dir", default=None, help="folder with the real datasets (needed when --dataset is a name)")
    add_setting_options(p)
    p.add_argument("--seed", type=int, required=True, help="initialisation, batch order, dropout and pruning ties")
    p.add_argument("--out", required=True, help="final checkpoint (.pt)")
    p.add_argument("--unpruned-out", default=None, help="checkpoint of the network at the end of the unpruned phase")
    p.add_argument("--log", default=None, help="per-epoch metrics table (.parquet)")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda or cuda:N (default auto)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    e = subparsers.add_parser("evaluate", help="accuracy, loss and sparsity of a network")
    e.add_argument("checkpoint", help=f"network file: {ACCEPTED_FORMATS}")
    e.add_argument("--dataset", default=None,
                   help="name or .npz path; default for our checkpoints: the dataset the network was trained on "
                        "(the workflow's datasets/<name>.npz beside it, or the name and --data-dir it was trained with)")
    e.add_argument("--data-dir", default=None, help="folder with the real datasets (when --dataset is a name)")
    e.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda or cuda:N (default auto)")
    add_allow_pickle_option(e)
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


def evaluation_dataset(checkpoint: str | Path, meta: dict, dataset: str | None = None, data_dir: str | None = None):
    """The dataset to evaluate a network on: ``dataset`` if given, else the one it was trained on.

    For our checkpoints that is, in order: the ``.npz`` artifact it was trained
    from (``dataset_source``); the workflow's ``datasets/<name>.npz`` in a
    folder above the checkpoint (``results/<preset>/datasets/``); the dataset
    name with ``data_dir`` (given, or recorded at training). Raises
    ``ValueError`` naming ``--dataset`` / ``--data-dir`` when none is found.
    """
    seed = int(meta.get("seed", 0))
    if dataset is not None:
        return resolve_dataset(dataset, data_dir, seed)
    name, source = meta.get("dataset"), meta.get("dataset_source")
    if source and Path(source).suffix == ".npz" and Path(source).exists():
        return resolve_dataset(source, None, seed)
    if not name:
        raise ValueError(
            f"{checkpoint} records no dataset ({meta.get('network_format', 'network file')}); "
            "pass --dataset NAME --data-dir DIR, or --dataset FILE.npz"
        )
    for folder in Path(checkpoint).resolve().parents:
        artifact = folder / "datasets" / f"{name}.npz"
        if artifact.exists():
            return resolve_dataset(str(artifact), None, seed)
    data_dir = data_dir or meta.get("data_dir")
    if data_dir is None:
        raise ValueError(
            f"{checkpoint} was trained on dataset {name!r}, but no datasets/{name}.npz was found in a folder above it "
            f"and no data directory was recorded; pass --data-dir DIR (the folder with mnist/, fashion-mnist/, ...) "
            f"or --dataset FILE.npz"
        )
    return resolve_dataset(name, data_dir, seed)


def _evaluate(args) -> int:
    from nnstructure.network_io import check_network_inputs, load_network
    from nnstructure.train import evaluate

    model, meta = load_network(args.checkpoint, allow_pickle=args.allow_pickle)
    dataset = evaluation_dataset(args.checkpoint, meta, args.dataset, args.data_dir)
    check_network_inputs(model, dataset.x_train, f"dataset {dataset.name!r}", meta)
    scores = evaluate(model, dataset, args.device)
    result = {"checkpoint": str(args.checkpoint), "network_format": meta["network_format"], "dataset": dataset.name,
              "phase": meta.get("phase"), **scores}
    print(json.dumps(result))
    return 0
