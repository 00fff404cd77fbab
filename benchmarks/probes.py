"""Feature caching for probes: one forward pass for all targets of a layer, against one pass per target.

Probing k targets on one layer either (a) runs the network once, caches the
pooled layer, and fits k probes on the cache (what `probe-features` +
`probe-fit` do), or (b) recomputes the features for every target. Prints the
forward-pass time, the time of one probe fit (Adam, given epochs, and the
closed form), and the ratio (b) / (a).

Inputs are a transition dataset folder (--dataset) or synthetic 6x64x64
transitions (--n). The network is a randomly initialised reward net of width
--width (1.0 = the thesis's 96-256-384-384-256 channels).

    .venv/bin/python benchmarks/probes.py [--n 4000] [--width 0.125] [--layer 2] [--targets 4] [--epochs 5] [--device auto]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="transition dataset folder (default: synthetic transitions)")
    p.add_argument("--n", type=int, default=4000, help="synthetic transitions")
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--layer", type=int, default=2)
    p.add_argument("--targets", type=int, default=4)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    import pandas as pd

    from nnstructure.device import select_device
    from nnstructure.models import build_model, reward_net_spec
    from nnstructure.probe import load_feature_cache, pooled_features, probe_row, write_feature_cache
    from nnstructure.probe.features import iterate_arrays

    device = select_device(args.device)
    model = build_model(reward_net_spec(width_multiplier=args.width), seed=0).to(device)
    rng = np.random.default_rng(0)
    targets = ["distance", "distance_sq", "inv_distance", "inv_distance_sq"][: args.targets]
    if args.dataset is None:
        x = rng.integers(0, 256, (args.n, 6, 64, 64), dtype=np.uint8)
        rows = pd.DataFrame({"split": np.where(np.arange(args.n) % 10 == 0, "test", "train"),
                             "distance_raw": rng.uniform(0, 30, args.n)})

        def features():
            return pooled_features(model, iterate_arrays(x, {}, 256, scale=255.0), [args.layer], device)[0]
    else:
        from nnstructure.probe.sources import transition_batches, transition_rows
        from nnstructure.reward.transitions import TransitionDataset

        ds = TransitionDataset(args.dataset)

        def features():
            return pooled_features(model, transition_batches(ds, 256), [args.layer], device)[0]

        rows = transition_rows(ds, ds.rows())
    n = len(rows)
    features()  # warm-up
    t0 = time.perf_counter()
    feats = features()
    forward = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        cache = write_feature_cache(tmp, feats, rows, {"network": "benchmark"})
        cache = load_feature_cache(tmp)
        t0 = time.perf_counter()
        for target in targets:
            probe_row(cache, args.layer, target, epochs=args.epochs)
        fits = time.perf_counter() - t0
    cached = forward + fits
    recomputed = len(targets) * forward + fits
    print(f"{n} transitions, reward net width {args.width}, layer {args.layer} ({feats[args.layer].shape[1]} features), "
          f"{len(targets)} targets, {args.epochs} Adam epochs + closed form each, device {device}")
    print(f"forward pass over the dataset: {forward:.2f} s ({n / forward:.0f} transitions/s)")
    print(f"probe fits (all targets): {fits:.2f} s ({fits / len(targets):.2f} s per target)")
    print(f"cached features: {cached:.2f} s; features recomputed per target: {recomputed:.2f} s; "
          f"ratio {recomputed / cached:.2f}x (bound {len(targets)}x as fits become negligible)")


if __name__ == "__main__":
    main()
