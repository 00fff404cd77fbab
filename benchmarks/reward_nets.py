"""Reward-net training throughput (samples per second) through the one training loop, streamed from shards.

For each width multiplier (default 1.0, the thesis's network, and 0.25, the fast
preset) it times whole epochs of ``nnstructure.train.loop._train_epoch`` on a
streamed transition dataset (batch 128, Adam lr 1e-3), after a warm-up batch of 8,
on the CPU (``--threads`` threads) and, when CUDA is present, on the GPU. Rates are
given per wall-clock second and per CPU second of the process (the latter is
what a dedicated core gives when the machine is shared). It also
reports the reader alone (shard decompression + batch gathering, no network), so
the data path's share is visible.

The dataset is synthetic 64x64 frames in the agreed folder layout (written to a
temporary folder), or a real one with ``--dataset DIR``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_nets.py [--widths 1.0,0.25] [--batches 1] [--threads 1]
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


def time_training(dataset, width: float, device: torch.device, batch_size: int) -> dict:
    from nnstructure.models import build_model, reward_net_spec
    from nnstructure.train import TrainConfig
    from nnstructure.train.loop import _StreamedTransitions, _train_epoch

    spec = reward_net_spec(width_multiplier=width)
    model = build_model(spec, seed=0).to(device)
    config = TrainConfig(epochs=1, prune_epochs=0, batch_size=batch_size, lr=1e-3, adam_eps=1e-8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    data = _StreamedTransitions(dataset, device)
    # warm-up: one small batch (kernel selection, allocator)
    x, y = next(iter(data.train_batches(8, True, torch.Generator().manual_seed(0))))
    loss = data.loss(model(x), y)
    loss.backward()
    optimizer.zero_grad(set_to_none=True)
    steps = math.ceil(data.n_train / batch_size)
    t0, c0 = time.perf_counter(), time.process_time()
    row = _train_epoch(model, data, config, optimizer, None, 0, 0, steps)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return {"width_multiplier": width, "device": str(device), "samples": data.n_train, "seconds": seconds,
            "samples_per_second": data.n_train / seconds, "cpu_seconds": cpu_seconds,
            "samples_per_cpu_second": data.n_train / cpu_seconds, "train_loss": row["train_loss"]}


def main() -> None:
    from nnstructure.reward.transitions import TransitionDataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="1.0,0.25")
    ap.add_argument("--batches", type=int, default=1, help="training batches per timed CPU epoch")
    ap.add_argument("--gpu-batches", type=int, default=64, help="training batches per timed GPU epoch")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dataset", type=Path, default=None, help="a real transition dataset folder instead of synthetic frames")
    ap.add_argument("--no-gpu", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    widths = [float(w) for w in args.widths.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        def dataset_of(n_batches: int) -> TransitionDataset:
            if args.dataset is not None:
                return TransitionDataset(args.dataset)
            root = Path(tmp) / f"ds{n_batches}"
            if not root.exists():
                write_synthetic_dataset(root, n_batches * args.batch_size + 256)
            return TransitionDataset(root)

        cpu_ds = dataset_of(args.batches)
        reader, reader_cpu = time_reader(cpu_ds, args.batch_size)
        print(json.dumps({"what": "reader only", "samples_per_second": round(reader, 1),
                          "samples_per_cpu_second": round(reader_cpu, 1)}), flush=True)
        for width in widths:
            r = time_training(cpu_ds, width, torch.device("cpu"), args.batch_size)
            r["threads"] = args.threads
            results.append(r)
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
        if torch.cuda.is_available() and not args.no_gpu:
            gpu_ds = dataset_of(args.gpu_batches)
            for width in widths:
                r = time_training(gpu_ds, width, torch.device("cuda"), args.batch_size)
                r["gpu"] = torch.cuda.get_device_name(0)
                results.append(r)
                print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
    for r in results:
        per_epoch_h = 900_173 / r["samples_per_second"] / 3600
        print(f"width {r['width_multiplier']:<5} {r['device']:<5} {r['samples_per_second']:9.1f} samples/s wall, "
              f"{r['samples_per_cpu_second']:9.1f} per CPU second  -> {per_epoch_h:7.2f} h per CoinRun epoch (900,173 transitions)")


if __name__ == "__main__":
    main()
