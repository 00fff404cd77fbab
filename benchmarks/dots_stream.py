"""Dots generated on the fly: images per second rendered (in-process and with DataLoader workers) against
images per second a training step of the dots network consumes.

Generation renders shuffled images of the 9e6-image training stream (random
access via PCG64.advance, as in training); consumption is forward + backward +
Adam of the reward-net architecture (3-channel input, width --width; 1.0 = the
thesis's network) on --device. Training is kept fed when the generation rate
with the workers you give it exceeds the consumption rate.

    .venv/bin/python benchmarks/dots_stream.py [--batches 20] [--batch-size 128] [--workers 0,2] [--width 0.0625] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import torch


def generation_rate(workers: int, batches: int, batch_size: int) -> float:
    from nnstructure.data.dots_stream import dots_loader

    loader = dots_loader(0, "train", 9_000_000, batch_size, "regression", shuffle=True, order_seed=1, workers=workers)
    it = iter(loader)
    next(it)  # start-up (worker processes, the epoch's permutation)
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        x, _ = next(it)
        n += len(x)
    return n / (time.perf_counter() - t0)


def consumption_rate(width: float, batches: int, batch_size: int, device: torch.device) -> float:
    from nnstructure.data.dots_stream import generate_dots
    from nnstructure.models import build_model, reward_net_spec

    model = build_model(reward_net_spec([3, 64, 64], 1, width_multiplier=width), seed=0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    import numpy as np

    x, y = generate_dots(0, "train", np.arange(batch_size))
    x, y = torch.from_numpy(x).to(device).float() / 255, torch.from_numpy(y).to(device)

    def step():
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * batch_size / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", default="0,2", help="comma-separated worker counts to measure")
    p.add_argument("--width", type=float, default=0.0625)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from nnstructure.device import select_device

    device = select_device(args.device)
    for workers in [int(w) for w in args.workers.split(",")]:
        rate = generation_rate(workers, args.batches, args.batch_size)
        print(f"generated: {rate:,.0f} images/s with {workers} worker process(es)")
    consumed = consumption_rate(args.width, max(2, args.batches // 4), args.batch_size, device)
    print(f"consumed: {consumed:,.0f} images/s training the width-{args.width} dots net (batch {args.batch_size}) on {device}")


if __name__ == "__main__":
    main()
