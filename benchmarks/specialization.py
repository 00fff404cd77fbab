"""Chapter-4 proxies on a 4x256 MNIST MLP: batched against naive lesions and visualisations.

The network is ``--checkpoint`` (one of our checkpoints of a 784-256-256-256-256-10
MLP trained on MNIST) or, without it, one trained here for ``--epochs`` epochs
(``--arch cnn``: the project's small CNN, untrained, for its channel lesions).
Its ``--partitioning`` (default weight-network, k = 16) gives the true
subclusters; each gets ``--n-random`` (19) random ones.

* Lesions, on the whole MNIST test set: ``lesion_class_correct`` (every layer's
  units from one shared forward pass, every lesion of a layer in one batch, the
  dense layer reading the units updated by ``z - h_S W_S^T``, near ties
  recomputed exactly) against ``lesion_class_correct_naive`` (zero the weights
  of a copy of the model and evaluate the whole test set, once per lesion). The
  correct counts per class must be identical. Reported in total and per layer
  (the first hidden layer is the costliest case: most of the network lies
  downstream of it), each beside its arithmetic bound: the multiply-adds of the
  whole network over those downstream of the lesion, the most any exact method
  that recomputes the downstream layers could gain.
* Visualisation (thesis settings: pixels, Adam, ``--vis-steps`` steps, jitter and
  scale), on the layer with the most subclusters, its first ``--vis-images`` true
  and random subclusters: one batch against one image at a time, same seeds.

Prints CPU times (``time.process_time``; the run is single-threaded, so this
is the work done, though a loaded machine still slows it somewhat through the
shared caches), wall times, their ratios and the agreement. The requirement is
stated for a CPU.

    .venv/bin/python benchmarks/specialization.py --data-dir /work/shared/data [--checkpoint mlp.pt] \
        [--partitioning weight-network|act-network|weight-layer|act-layer] [--first-layer] [--skip-visualisation]
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


def multiply_adds(model, input_shape) -> dict[int, int]:
    """Multiply-adds of each Linear / Conv2d child of ``model`` (by child index) on one input."""
    import torch
    from torch import nn

    macs: dict[int, int] = {}
    hooks = []
    for i, child in enumerate(model.children()):
        if isinstance(child, nn.Linear):
            hooks.append(child.register_forward_hook(lambda m, a, out, i=i: macs.__setitem__(i, m.in_features * m.out_features)))
        elif isinstance(child, nn.Conv2d):
            per_output = child.in_channels // child.groups * int(np.prod(child.kernel_size))
            hooks.append(child.register_forward_hook(
                lambda m, a, out, i=i, k=per_output: macs.__setitem__(i, int(out[0].numel()) * k)))
    with torch.no_grad():
        model(torch.zeros((1, *input_shape)))
    for hook in hooks:
        hook.remove()
    return macs


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
    parser.add_argument("--arch", choices=["mlp", "cnn"], default="mlp",
                        help="without --checkpoint: the 4x256 MLP trained here, or the project's small CNN untrained")
    parser.add_argument("--test-images", type=int, default=None, help="lesion on the first N test images (default all)")
    parser.add_argument("--first-layer", action="store_true",
                        help="lesions of the first hidden layer only (the costliest case: most of the network is downstream)")
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
    from nnstructure.specialization.lesion import unit_outputs

    ds = make_dataset("mnist", args.data_dir)
    x_test, y_test = ds.x_test[:args.test_images], ds.y_test[:args.test_images]
    if args.checkpoint:
        model = load_checkpoint(args.checkpoint).model
    elif args.arch == "cnn":
        from nnstructure.models import build_model

        # untrained (seeded): training it on one core takes many minutes; the lesion work does not depend on it
        model = build_model({"arch": "cnn", "input_shape": list(ds.input_shape), "n_outputs": 10}, seed=args.seed).eval()
        print("untrained CNN (the project's cnn architecture, seeded)")
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
    for layer in layers[:1] if args.first_layer else layers:
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
    fast, naive = {}, {}
    with timed(times, "batched"):
        with timed(times, "shared prefix"):
            outputs = unit_outputs(model, [layer for layer, _ in masks.values()], x_test)
        for name, (layer, keep) in masks.items():
            with timed(times, ("batched", name)):
                fast[name] = lesion_class_correct(model, layer, keep, x_test, y_test, 10,
                                                  outputs=None if outputs is None else outputs[name])
    with timed(times, "naive"):
        for name, (layer, keep) in masks.items():
            with timed(times, ("naive", name)):
                naive[name] = lesion_class_correct_naive(model, layer, keep, x_test, y_test, 10)
    same = {name: bool(np.array_equal(fast[name], naive[name])) for name in masks}
    macs = multiply_adds(model, ds.input_shape)
    whole = sum(macs.values())

    def downstream(layer, keep) -> float:
        """Multiply-adds per (input, lesion) pair: the silenced units' share of the layer reading them, and all after it."""
        after = sorted(i for i in macs if i >= layer.mask_index)
        silenced = float((~keep).sum(axis=1).mean()) / layer.size
        return macs[after[0]] * silenced + sum(macs[i] for i in after[1:])

    n_masks = sum(k.shape[0] for _, k in masks.values())
    overall_bound = whole * n_masks / sum(downstream(layer, k) * k.shape[0] for layer, k in masks.values())
    what = f"lesions ({n_masks} lesions x {len(y_test)} test images; per layer {[k.shape[0] for _, k in masks.values()]})"
    print(_ratio_text(what, times["batched"], times["naive"]) + f"; identical accuracies: {all(same.values())}"
          + f"; arithmetic bound {overall_bound:.1f}x")
    print(f"  shared prefix (every layer's units, one pass): CPU {times['shared prefix'][0]:.2f} s")
    first = layers[0].name
    for name, (layer, keep) in masks.items():
        label = f"layer {name}" + (" (first hidden layer)" if name == first else "") + f", {keep.shape[0]} lesions"
        print("  " + _ratio_text(label, times[("batched", name)], times[("naive", name)])
              + f"; identical accuracies: {same[name]}; arithmetic bound {whole / downstream(layer, keep):.1f}x")
    if first not in masks:
        print(f"  (no subcluster of the {args.partitioning} partition lies in the first hidden layer {first})")

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
