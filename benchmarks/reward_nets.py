"""Reward-net training throughput (samples per second) through the one training loop, streamed from shards.

For each width multiplier (default 1.0, the thesis's network, and 0.25, the fast
preset), each precision (``fp32``, ``bf16`` autocast) and each memory layout
(``contiguous``, ``channels_last``: model and inputs) it times whole epochs of
``nnstructure.train.loop._train_epoch`` on a streamed transition dataset (Adam lr
1e-3), after a warm-up batch of 8, on the CPU (``--threads`` threads) and, when
CUDA is present, on the GPU. ``--batch-size`` takes one size per width
(``64,32,8`` for widths ``0.0625,0.25,1``), as the issue's table. Rates are
given per wall-clock second and per CPU second of the process (the latter is
what a dedicated core gives when the machine is shared). It also
reports the reader alone (shard decompression + batch gathering, no network), so
the data path's share is visible.

The dataset is synthetic 64x64 frames in the agreed folder layout (written to a
temporary folder), or a real one with ``--dataset DIR``.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/reward_nets.py [--widths 0.0625,0.25,1] [--batch-size 64,32,8] [--batches 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def write_synthetic_dataset(root: Path, n_transitions: int, shard_size: int = 1000, seed: int = 0) -> Path:
    """Episodes of 50 steps of random 64x64 frames, ``shard_size`` transitions per shard."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    (root / "shards").mkdir(parents=True, exist_ok=True)
    tables, done = [], 0
    shard = 0
    while done < n_transitions:
        n = min(shard_size, n_transitions - done)
        steps = 50
        n_eps = math.ceil(n / steps)
        frames = rng.integers(0, 256, (n_eps * (steps + 1), 64, 64, 3), dtype=np.uint8)
        rows = []
        for e in range(n_eps):
            for t in range(min(steps, n - e * steps)):
                rows.append({"episode": shard * 10_000 + e, "step": t, "shard": shard, "obs_frame": e * (steps + 1) + t,
                             "next_obs_frame": e * (steps + 1) + t + 1, "action": int(rng.integers(0, 15)),
                             "reward": np.float32(10.0 if t == steps - 1 else 0.0), "done": t == steps - 1,
                             "game": "synthetic", "split": "train"})
        np.savez_compressed(root / "shards" / f"shard-{shard:05d}.npz", frames=frames)
        tables.append(pd.DataFrame(rows))
        done += n
        shard += 1
    table = pd.concat(tables, ignore_index=True)
    table.loc[table.index[-min(256, len(table) // 10):], "split"] = "test"
    table.to_parquet(root / "transitions.parquet", index=False)
    return root


def time_reader(dataset, batch_size: int) -> tuple[float, float]:
    """Samples per wall-clock second and per CPU second of the reader alone."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(len(b["action"]) for b in dataset.batches("train", batch_size, shuffle=True, seed=0))
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


class _ContiguousTransitions:
    """The loop's transition data with inputs in the default (channels-first) layout."""

    def __init__(self, data):
        self._data = data
        self.channels_last = False

    def __getattr__(self, name):
        return getattr(self._data, name)

    def train_batches(self, batch_size, shuffle, generator):
        for x, y in self._data.train_batches(batch_size, shuffle, generator):
            yield x.contiguous(), y


def time_training(dataset, width: float, device: torch.device, batch_size: int, precision: str = "fp32",
                  channels_last: bool = True) -> dict:
    from nnstructure.models import build_model, reward_net_spec
    from nnstructure.reward.training_data import StreamedTransitions
    from nnstructure.train import TrainConfig
    from nnstructure.train.loop import _train_epoch
    from nnstructure.train.precision import autocast

    spec = reward_net_spec(width_multiplier=width)
    model = build_model(spec, seed=0).to(device)
    config = TrainConfig(epochs=1, prune_epochs=0, batch_size=batch_size, lr=1e-3, adam_eps=1e-8, precision=precision)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    data = StreamedTransitions(dataset, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    else:
        data = _ContiguousTransitions(data)
    # warm-up: one small batch (kernel selection, allocator)
    x, y = next(iter(data.train_batches(8, True, torch.Generator().manual_seed(0))))
    with autocast(device, precision):
        out = model(x)
    data.loss(out.float(), y).backward()
    optimizer.zero_grad(set_to_none=True)
    steps = math.ceil(data.n_train / batch_size)
    t0, c0 = time.perf_counter(), time.process_time()
    row = _train_epoch(model, data, config, optimizer, None, 0, 0, steps)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return {"width_multiplier": width, "precision": precision, "layout": "channels_last" if channels_last else "contiguous",
            "batch_size": batch_size, "device": str(device), "samples": data.n_train, "seconds": seconds,
            "samples_per_second": data.n_train / seconds, "cpu_seconds": cpu_seconds,
            "samples_per_cpu_second": data.n_train / cpu_seconds, "train_loss": row["train_loss"]}


def main() -> None:
    from nnstructure.reward.transitions import TransitionDataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="0.0625,0.25,1.0")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--layouts", default="contiguous,channels_last")
    ap.add_argument("--batches", type=int, default=4, help="training batches per timed CPU epoch")
    ap.add_argument("--gpu-batches", type=int, default=64, help="training batches per timed GPU epoch")
    ap.add_argument("--batch-size", default="64,32,8", help="one batch size, or one per width")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dataset", type=Path, default=None, help="a real transition dataset folder instead of synthetic frames")
    ap.add_argument("--no-gpu", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    widths = [float(w) for w in args.widths.split(",")]
    sizes = [int(b) for b in args.batch_size.split(",")]
    sizes = sizes * len(widths) if len(sizes) == 1 else sizes
    if len(sizes) != len(widths):
        ap.error(f"--batch-size takes one size or one per width ({len(widths)} widths)")
    batch_of = dict(zip(widths, sizes))
    precisions = args.precisions.split(",")
    layouts = [layout == "channels_last" for layout in args.layouts.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        def dataset_of(n_batches: int) -> TransitionDataset:
            if args.dataset is not None:
                return TransitionDataset(args.dataset)
            root = Path(tmp) / f"ds{n_batches}"
            if not root.exists():
                write_synthetic_dataset(root, n_batches)
            return TransitionDataset(root)

        def run(device: torch.device, n_batches_of, extra: dict) -> None:
            for width in widths:
                ds = dataset_of(n_batches_of(batch_of[width]))
                for precision in precisions:
                    for channels_last in layouts:
                        r = {**time_training(ds, width, device, batch_of[width], precision, channels_last), **extra}
                        results.append(r)
                        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)

        reader_ds = dataset_of(20 * 128 + 256)
        reader, reader_cpu = time_reader(reader_ds, 128)
        print(json.dumps({"what": "reader only", "samples_per_second": round(reader, 1),
                          "samples_per_cpu_second": round(reader_cpu, 1)}), flush=True)
        # the synthetic writer puts the last tenth in the test split: about ``--batches`` training batches
        run(torch.device("cpu"), lambda b: math.ceil(args.batches * b / 0.9) + 1, {"threads": args.threads})
        if torch.cuda.is_available() and not args.no_gpu:
            run(torch.device("cuda"), lambda b: math.ceil(args.gpu_batches * b / 0.9) + 1, {"gpu": torch.cuda.get_device_name(0)})
    print(f"\nreader alone: {reader:.0f} samples/s wall, {reader_cpu:.0f} per CPU second")
    print("| width (batch) | device | " + " | ".join(f"{p} {l}" for p in precisions for l in args.layouts.split(",")) + " |")
    print("|---|---|" + "---|" * (len(precisions) * len(layouts)))
    for device in dict.fromkeys(r["device"] for r in results):
        for width in widths:
            cells = [r for r in results if r["device"] == device and r["width_multiplier"] == width]
            print(f"| x{width:g} ({batch_of[width]}) | {device} | "
                  + " | ".join(f"{r['samples_per_second']:.1f} ({r['samples_per_cpu_second']:.1f}/CPU-s)" for r in cells) + " |")


if __name__ == "__main__":
    main()
