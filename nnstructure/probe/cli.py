"""Chapter 5, part 2 commands: linear probes, the dots-and-distances networks, adversarial training.

``probe-features`` runs a network once and caches its pooled layers (one job per
network x input set); ``probe-fit`` fits one (layer, target, filtered?) probe on
a cache (one job per cell); ``probe`` does both for one cell. ``dots-net``
trains a dots network on images made on the fly (thesis 5.9);
``adversarial-train`` adversarially trains a reward net (thesis 5.8). Each parses
its options into the settings of its function in :mod:`nnstructure.probe.steps`
(``adversarial-train``: :mod:`nnstructure.reward.steps`), which the workflow's
scripts call directly.
"""

from __future__ import annotations

import argparse


def _layers(text: str) -> list[int]:
    try:
        layers = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers takes comma-separated layer indices like 1,2,3,4, got {text!r}")
    if not layers:
        raise argparse.ArgumentTypeError("--layers needs at least one layer index")
    return layers


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None, help="transition dataset folder (with transitions.parquet and shards/)")
    p.add_argument("--dots-seed", type=int, default=None, help="probe on a fresh dots-and-distances dataset from this seed instead")
    p.add_argument("--dots-n", type=int, default=90_000, help="images in the fresh dots dataset (thesis: 9e4); the last 10%% are the test split")
    p.add_argument("--transitions-n", type=int, default=None, metavar="N",
                   help="probe a seeded random subset of N transitions of --dataset (default: every transition, the thesis)")
    p.add_argument("--random-init", type=int, default=None, metavar="SEED",
                   help="probe a randomly initialised network of the checkpoint's architecture (the thesis's baseline) drawn from SEED")
    p.add_argument("--network", default=None, help="name recorded in the results (default: the checkpoint's file name)")
    p.add_argument("--batch-size", type=int, default=256, help="forward-pass batch size (does not change the features)")
    p.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _lrs(text: str) -> tuple[float, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lr-sweep takes comma-separated learning rates like 1e-3,1e-2 (or none), got {text!r}")
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"--lr-sweep learning rates must be positive, got {text!r}")
    return values


def _add_fit(p: argparse.ArgumentParser) -> None:
    from nnstructure.probe.schedule import LR_SWEEP, MAX_EPOCHS, TRAIN_TOL

    p.add_argument("--layer", type=int, required=True, help="probed layer: output of that ReLU (0 = first convolution)")
    p.add_argument("--target", required=True, help="distance, distance_sq, inv_distance, inv_distance_sq, dx, dy, pair_distances, mean_distance")
    p.add_argument("--filtered", action="store_true", help="only rows where the goal is visible (distance < 6)")
    p.add_argument("--epochs", type=int, default=None,
                   help="minimum Adam epochs (default: the thesis's for --thesis-network, else 5)")
    p.add_argument("--thesis-network", default=None,
                   help="take the epochs from the thesis's captions for this network: coinrun-15, coinrun-40, heist, adversarial, dots")
    p.add_argument("--probe-batch-size", type=int, default=128, help="Adam probe minibatch size (default 128, the thesis)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate when there is no --lr-sweep")
    p.add_argument("--lr-sweep", type=_lrs, default=LR_SWEEP, metavar="LRS",
                   help="learning rates tried for one epoch each; the lowest training loss continues "
                        f"(default {','.join(f'{v:g}' for v in LR_SWEEP)}; none: --lr)")
    p.add_argument("--max-epochs", type=int, default=MAX_EPOCHS,
                   help=f"Adam runs on past --epochs, up to this, until its training loss is within {TRAIN_TOL * 100:g}%% "
                        f"of the closed form's (default {MAX_EPOCHS}; equal to --epochs: exactly --epochs)")
    p.add_argument("--raw-features", action="store_true",
                   help="train Adam on the raw features and targets (default: standardised, weights mapped back)")
    p.add_argument("--thesis-adam", action="store_true",
                   help="the thesis's probe as it was: raw features, --lr, exactly --epochs epochs (often not converged; "
                        "the row says so)")
    p.add_argument("--ridge", type=float, default=1e-8, help="relative ridge of the closed-form probe (times trace(G)/d)")
    p.add_argument("--split", choices=("dataset", "random"), default="dataset",
                   help="test split: the dataset's own (transitions: by episode; dots: last 10%%) or a random 10%% of rows")
    p.add_argument("--seed", type=int, default=0, help="seeds the Adam probe's initialisation and order (and a random split)")
    p.add_argument("--fit-device", default="cpu", help="device of the Adam probe (cpu is fast for these small linear maps)")
    p.add_argument("--out", default=None, help="write the results row to this .parquet")
    p.add_argument("--json", action="store_true", help="print the results row as one JSON object (default: a short summary)")


def register(subparsers) -> None:
    from nnstructure.network_io import ACCEPTED_FORMATS, add_allow_pickle_option

    p = subparsers.add_parser("probe", help="linear probe of one layer of a network for one target (features + fit)")
    p.add_argument("checkpoint", help="network to probe: a reward net (.pt), a dots net or an adversarially trained net; "
                                      f"{ACCEPTED_FORMATS}, whose ReLU modules are the probed layers")
    add_allow_pickle_option(p)
    _add_source(p)
    _add_fit(p)
    p.add_argument("--cache", default=None, help="keep the layer's feature cache in this folder (default: a temporary one)")
    p.set_defaults(func=_probe)

    f = subparsers.add_parser("probe-features", help="cache the space-pooled ReLU layers of a network over a dataset")
    f.add_argument("checkpoint", help="network whose layers to cache: a reward net (.pt), a dots net or an adversarially "
                                      f"trained net; {ACCEPTED_FORMATS}, whose ReLU modules are the probed layers")
    add_allow_pickle_option(f)
    _add_source(f)
    f.add_argument("--layers", type=_layers, default=[1, 2, 3, 4], help="comma-separated layers (default 1,2,3,4)")
    f.add_argument("--out", required=True, help="output folder (layer<L>.npy, rows.parquet, features.json)")
    f.set_defaults(func=_features)

    g = subparsers.add_parser("probe-fit", help="fit Adam and closed-form probes on a feature cache; one results row")
    g.add_argument("features", help="folder written by probe-features")
    _add_fit(g)
    g.set_defaults(func=_fit)

    d = subparsers.add_parser("dots-net", help="train a dots-and-distances network on images generated on the fly (thesis 5.9)")
    from nnstructure.reward.settings import DOTS_NET_SETTINGS, add_settings_options

    add_settings_options(d, DOTS_NET_SETTINGS, required=("task", "n_train", "epochs"))  # the workflow's settings, defined once
    d.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    d.add_argument("--workers", type=int, default=0, help="image-rendering worker processes (0: in the training process)")
    d.add_argument("--out", required=True, help="checkpoint (.pt)")
    d.add_argument("--log", default=None, help="per-epoch metrics (.parquet)")
    d.add_argument("--row", default=None, help="write the network's results row to this .parquet")
    d.add_argument("--network", default=None, help="name in the results row (default: the checkpoint's file name)")
    d.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=_dots_net)

    a = subparsers.add_parser("adversarial-train", help="adversarially train a reward net on a transition dataset (thesis 5.8)")
    a.add_argument("dataset", help="transition dataset folder")
    a.add_argument("--out", required=True, help="checkpoint (.pt)")
    a.add_argument("--examples", required=True, help="folder for the adversarial example sets and clipping statistics")
    a.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    a.add_argument("--batch-size", type=int, default=256, help="minibatch size (default 256)")
    a.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    a.add_argument("--first-adversarial-epoch", type=int, default=5, help="examples are made after this epoch and every later one")
    fraction = a.add_mutually_exclusive_group()
    fraction.add_argument("--variant", choices=("thesis-text", "original-code"), default="thesis-text",
                          help="examples per addition: 0.1%% of the training set (thesis text) or 4%% (original code)")
    fraction.add_argument("--adversarial-fraction", type=float, default=None, help="any other fraction of the training set")
    a.add_argument("--optimization-steps", type=int, default=16, help="gradient steps making each adversarial example (default 16)")
    a.add_argument("--optimization-lr", type=float, default=0.05, help="Adam learning rate of those steps (default 0.05)")
    a.add_argument("--max-shift", type=int, default=8, help="random translation (pixels) during the optimisation")
    a.add_argument("--clip-percentile", type=float, default=99.0, help="gradients clipped to this percentile of the previous epoch's gradient norms (default 99)")
    a.add_argument("--width-multiplier", type=float, default=1.0, help="scales the reward net's channels (default 1)")
    from nnstructure.reward.settings import ADVERSARIAL_SETTINGS

    # every other setting of the table, as it defines it
    _add_settings_options(a, "adversarial", tuple(name for name in ADVERSARIAL_SETTINGS
                                                  if "--" + name.replace("_", "-") not in a._option_string_actions))
    a.add_argument("--seed", type=int, default=0, help="initialisation, batch order and the examples' optimisation (default 0)")
    a.add_argument("--log", default=None, help="per-epoch metrics of the loop (.parquet)")
    a.add_argument("--summary", default=None, help="write the run's section-5.8 numbers to this .parquet")
    a.add_argument("--epochs-table", default=None, help="write per-epoch clipping/example statistics to this .parquet")
    a.add_argument("--device", default="auto", help="auto (default: CUDA when available), cpu or cuda")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=_adversarial)


def _add_settings_options(parser, kind: str, names: tuple[str, ...] = ("precision",)) -> None:
    from nnstructure.reward.settings import NETWORK_KIND_SETTINGS, add_settings_options

    add_settings_options(parser, {name: NETWORK_KIND_SETTINGS[kind][name] for name in names})


def _features_settings(args, layers) -> dict:
    return {"layers": layers, "dots_seed": args.dots_seed, "dots_n": args.dots_n, "transitions_n": args.transitions_n,
            "random_init": args.random_init,
            "batch_size": args.batch_size}


def _fit_settings(args) -> dict:
    return {"layer": args.layer, "target": args.target, "filtered": args.filtered, "epochs": args.epochs,
            "thesis_network": args.thesis_network, "probe_batch_size": args.probe_batch_size, "lr": args.lr,
            "lr_sweep": args.lr_sweep, "max_epochs": args.max_epochs, "raw_features": args.raw_features,
            "thesis_adam": args.thesis_adam, "ridge": args.ridge, "split": args.split, "seed": args.seed,
            "fit_device": args.fit_device}


def _probe(args) -> int:
    from nnstructure.probe.steps import probe

    settings = {**_features_settings(args, [args.layer]), **_fit_settings(args)}
    probe(args.checkpoint, args.out, settings, dataset=args.dataset, cache=args.cache, network=args.network,
          device=args.device, progress=not args.quiet, json_row=args.json, allow_pickle=args.allow_pickle)
    return 0


def _features(args) -> int:
    from nnstructure.probe.steps import probe_features

    probe_features(args.checkpoint, args.out, _features_settings(args, args.layers), dataset=args.dataset,
                   network=args.network, device=args.device, progress=not args.quiet, allow_pickle=args.allow_pickle)
    return 0


def _fit(args) -> int:
    from nnstructure.probe.steps import probe_fit

    probe_fit(args.features, args.out, _fit_settings(args), json_row=args.json)
    return 0


def _dots_net(args) -> int:
    from nnstructure.probe.steps import dots_net

    from nnstructure.reward.settings import DOTS_NET_SETTINGS, settings_from_options

    settings = settings_from_options(args, DOTS_NET_SETTINGS)
    dots_net(args.out, settings, seed=args.seed, log=args.log, row=args.row, network=args.network, workers=args.workers,
             device=args.device, progress=not args.quiet)
    return 0


def _adversarial(args) -> int:
    from nnstructure.reward.settings import ADVERSARIAL_SETTINGS
    from nnstructure.reward.steps import adversarial_net

    settings = {name: getattr(args, name) for name in ADVERSARIAL_SETTINGS}
    settings["adversarial_fraction"] = args.adversarial_fraction
    adversarial_net(args.dataset, args.out, args.examples, settings, seed=args.seed, log=args.log, summary=args.summary,
                    epochs_table=args.epochs_table, device=args.device, progress=not args.quiet)
    return 0
