"""Training throughput: our device-resident loop vs a plain PyTorch DataLoader loop.

Same 4x256 MLP, same data (real MNIST if found under --data-dir, synthetic
28x28 uint8 images otherwise), same batch size and Adam settings. Epochs of the two
loops alternate (after one warm-up epoch each); prints the median samples per
second of each and their ratio (ours / DataLoader).

    .venv/bin/python benchmarks/train_throughput.py [--epochs 2] [--threads 1] [--device auto]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def load_data(data_dir: Path):
    from nnstructure.data.dataset import Dataset

    if (data_dir / "mnist" / "train-images-idx3-ubyte.gz").exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from mnist_mlp_reference import load_mnist

        return load_mnist(data_dir), "mnist"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (70_000, 1, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 70_000).astype(np.int64)
    return Dataset("synthetic", x[:60_000], y[:60_000], x[60_000:], y[60_000:]), "synthetic"


def dataloader_epoch(model, loader, optimizer, device) -> None:
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main() -> None:
    from nnstructure.device import select_device
    from nnstructure.models import build_model, model_spec
    from nnstructure.train import TrainConfig
    from nnstructure.train.loop import _DeviceData, _train_epoch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = select_device(args.device)
    ds, source = load_data(args.data_dir)
    spec = model_spec("mlp", ds.input_shape, ds.n_outputs)
    config = TrainConfig(epochs=args.epochs, prune_epochs=0, batch_size=args.batch_size)
    n = len(ds.x_train)

    def adam(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    # ours
    model_ours = build_model(spec, seed=0).to(device)
    opt_ours = adam(model_ours)
    data = _DeviceData(ds, device)
    steps = -(-n // args.batch_size)

    # plain DataLoader over a TensorDataset (inputs pre-scaled to float on the CPU)
    model_plain = build_model(spec, seed=0).to(device)
    opt_plain = adam(model_plain)
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(ds.x_train).float().div_(255), torch.from_numpy(ds.y_train))
    loader = torch.utils.data.DataLoader(tensors, batch_size=args.batch_size, shuffle=True, num_workers=0,
                                         pin_memory=device.type == "cuda")

    def timed(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return n / (time.perf_counter() - t0)

    # one warm-up epoch each, then alternate epochs so machine load affects both alike; report medians
    ours_rates, plain_rates = [], []
    for e in range(args.epochs + 1):
        r_ours = timed(lambda: _train_epoch(model_ours, data, config, opt_ours, None, e, 0, steps))
        r_plain = timed(lambda: dataloader_epoch(model_plain, loader, opt_plain, device))
        if e > 0:
            ours_rates.append(r_ours)
            plain_rates.append(r_plain)
    ours, plain = float(np.median(ours_rates)), float(np.median(plain_rates))

    print(f"data={source} n_train={n} device={device} threads={args.threads} batch={args.batch_size} epochs={args.epochs}")
    print(f"ours (device-resident, permuted indexing): {ours:10.0f} samples/s")
    print(f"plain DataLoader loop:                     {plain:10.0f} samples/s")
    print(f"ratio ours / DataLoader: {ours / plain:.2f}")


if __name__ == "__main__":
    main()
