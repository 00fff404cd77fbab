"""Chapter-4 proxies on a 4x256 MNIST MLP: batched against naive lesions and visualisations.

The network is ``--checkpoint`` (one of our checkpoints of a 784-256-256-256-256-10
MLP trained on MNIST) or, without it, one trained here for ``--epochs`` epochs.
Its ``--partitioning`` (default weight-network, k = 16) gives the true
subclusters; each gets ``--n-random`` (19) random ones.

* Lesions, on the whole MNIST test set: ``lesion_class_correct`` (prefix shared,
  every lesion of a layer in one batch, the dense layer reading the units updated
  by ``z - h_S W_S^T``, near ties recomputed exactly) against
  ``lesion_class_correct_naive`` (zero the weights of a copy of the model and
  evaluate the whole test set, once per lesion). The correct counts per class
  must be identical.
* Visualisation (thesis settings: pixels, Adam, ``--vis-steps`` steps, jitter and
  scale), on the layer with the most subclusters, its first ``--vis-images`` true
  and random subclusters: one batch against one image at a time, same seeds.

Prints CPU times (``time.process_time``; the run is single-threaded, so this
is the work done and does not depend on what else the machine runs), wall
times, their ratios and the agreement. The requirement is stated for a CPU.

    .venv/bin/python benchmarks/specialization.py --data-dir /work/shared/data [--checkpoint mlp.pt]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch


@contextmanager
def timed(out: dict, key: str):
    """Record CPU and wall seconds of the block in ``out[key]``."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    out[key] = (time.process_time() - cpu, time.perf_counter() - wall)


def _ratio_text(what: str, fast: tuple[float, float], slow: tuple[float, float], names=("batched", "naive")) -> str:
    return (f"{what}: CPU {names[0]} {fast[0]:.1f} s, {names[1]} {slow[0]:.1f} s, ratio {slow[0] / fast[0]:.1f}x "
            f"(wall {fast[1]:.1f} s vs {slow[1]:.1f} s, ratio {slow[1] / fast[1]:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="folder with mnist/ (IDX files)")
    parser.add_argument("--checkpoint", help="a trained 4x256 MNIST MLP checkpoint (default: train one here)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs when training the network here")
    parser.add_argument("--partitioning", default="weight-network")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--n-random", type=int, default=19)
    parser.add_argument("--vis-steps", type=int, default=100)
    parser.add_argument("--vis-images", type=int, default=200, help="images in the visualisation comparison")
    parser.add_argument("--lesion-fraction", type=float, default=1.0,
                        help="time this fraction of every layer's lesions (the same ones on both paths)")
    parser.add_argument("--skip-visualisation", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from nnstructure.checkpoint import load_checkpoint
    from nnstructure.data import make_dataset
    from nnstructure.graph.activations import unit_layers
    from nnstructure.specialization import (
        VisualizationSettings,
        lesion_class_correct,
        lesion_class_correct_naive,
        partition_network,
        random_subclusters,
        true_subclusters,
        validation_inputs,
        visualize_subclusters,
    )
    from nnstructure.specialization.evaluate import image_seed

    ds = make_dataset("mnist", args.data_dir)
    if args.checkpoint:
        model = load_checkpoint(args.checkpoint).model
    else:
        from nnstructure.train import train_network

        path = Path(tempfile.mkdtemp()) / "mlp.pt"
        spec = {"arch": "mlp", "input_shape": list(ds.input_shape), "n_outputs": 10, "widths": [256] * 4}
        train_network(ds, spec, {"epochs": args.epochs, "prune_epochs": 0}, seed=args.seed, out=path, device="cpu")
        model = load_checkpoint(path).model
    layers = unit_layers(model)
    inputs = validation_inputs(ds.x_train, 5000, args.seed) if args.partitioning.startswith("act") else None
    part = partition_network(model, args.partitioning, args.k, seed=args.seed, inputs=inputs)
    subs = true_subclusters(part.frame(), layers)
    print(f"{args.partitioning}, k={args.k}: {len(subs)} true subclusters in layers "
          f"{ {l.name: sum(s.layer == l.name for s in subs) for l in layers} }, {args.n_random} random each")

    masks = {}
    for layer in layers:
        rows = [s for s in subs if s.layer == layer.name]
        if not rows:
            continue
        keep = []
        for s in rows:
            for units in [s.units, *random_subclusters(s, args.n_random, args.seed)]:
                k = np.ones(layer.size, dtype=bool)
                k[units] = False
                keep.append(k)
        keep = np.stack(keep)
        masks[layer.name] = (layer, keep[: max(1, int(round(args.lesion_fraction * len(keep))))])
    n_masks = sum(k.shape[0] for _, k in masks.values())

    times: dict = {}
    with timed(times, "batched"):
        fast = {name: lesion_class_correct(model, layer, keep, ds.x_test, ds.y_test, 10) for name, (layer, keep) in masks.items()}
    with timed(times, "naive"):
        naive = {name: lesion_class_correct_naive(model, layer, keep, ds.x_test, ds.y_test, 10) for name, (layer, keep) in masks.items()}
    identical = all(np.array_equal(fast[name], naive[name]) for name in masks)
    what = f"lesions ({n_masks} lesions x {len(ds.y_test)} test images; per layer {[k.shape[0] for _, k in masks.values()]})"
    print(_ratio_text(what, times["batched"], times["naive"]) + f"; identical accuracies: {identical}")

    if args.skip_visualisation:
        return
    name = max(masks, key=lambda n: masks[n][1].shape[0])
    layer, keep = masks[name]
    unit_masks = ~keep[: args.vis_images]
    seeds = [image_seed(args.seed, name, i // (args.n_random + 1), i % (args.n_random + 1) - 1) for i in range(len(unit_masks))]
    settings = VisualizationSettings.preset("thesis", steps=args.vis_steps)
    warm_up = VisualizationSettings.preset("thesis", steps=2)  # first use of torch.optim imports a lot
    visualize_subclusters(model, layer, unit_masks[:2], seeds[:2], warm_up, ds.input_shape)
    with timed(times, "vis_batched"):
        batch = visualize_subclusters(model, layer, unit_masks, seeds, settings, ds.input_shape)
    with timed(times, "vis_single"):
        single = [visualize_subclusters(model, layer, unit_masks[i:i + 1], seeds[i:i + 1], settings, ds.input_shape)["score"][0]
                  for i in range(len(seeds))]
    rel = np.max(np.abs(batch["score"] - single) / np.maximum(np.abs(single), 1e-12))
    what = f"visualisation (layer {name}, {len(seeds)} images, {args.vis_steps} steps)"
    print(_ratio_text(what, times["vis_batched"], times["vis_single"], ("batched", "one at a time"))
          + f"; max relative score difference {rel:.2e}")


if __name__ == "__main__":
    main()
