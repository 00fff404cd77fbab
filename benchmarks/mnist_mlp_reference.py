"""Reference run: the thesis's 4x256 MLP on real MNIST (20 epochs + 20 pruning epochs, batch 128).

Thesis 3.3 / 4.4.1 report ~98% (97.6-98.2%) test accuracy and 90% final
sparsity. Prints per-epoch metrics, the final accuracies/sparsity and CPU
seconds per epoch. Usage:

    .venv/bin/python benchmarks/mnist_mlp_reference.py [--data-dir /work/shared/data] [--threads 1] [--epochs 20 --prune-epochs 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import torch


def load_mnist(data_dir: Path):
    """Real MNIST through the package's loader (IDX files in DATA_DIR/mnist/)."""
    from nnstructure.data import make_dataset

    return make_dataset("mnist", data_dir)


def main() -> None:
    from nnstructure.models import model_spec
    from nnstructure.train import TrainConfig, train_network

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--prune-epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out-dir", type=Path, default=None, help="where checkpoints go (default: a temporary folder)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ds = load_mnist(args.data_dir)
    spec = model_spec("mlp", ds.input_shape, ds.n_outputs)
    config = TrainConfig(epochs=args.epochs, prune_epochs=args.prune_epochs, batch_size=128)
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="mnist_mlp_ref_"))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    meta = train_network(ds, spec, config, args.seed, out_dir / "model.pt", unpruned_out=out_dir / "unpruned.pt",
                         log=out_dir / "metrics.parquet", device=args.device, progress=False,
                         epoch_callback=lambda e, row: print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n_epochs = args.epochs + args.prune_epochs
    from nnstructure.checkpoint import load_checkpoint

    unpruned = load_checkpoint(out_dir / "unpruned.pt").metadata
    print(json.dumps({
        "device": meta["device"], "threads": args.threads,
        "unpruned_test_accuracy": unpruned["test_accuracy"], "unpruned_train_accuracy": unpruned["train_accuracy"],
        "final_test_accuracy": meta["test_accuracy"], "final_train_accuracy": meta["train_accuracy"],
        "final_sparsity": meta["sparsity"],
        "cpu_seconds_per_epoch": cpu / max(n_epochs, 1), "wall_seconds_per_epoch": wall / max(n_epochs, 1),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "out_dir": str(out_dir),
    }, indent=2))


if __name__ == "__main__":
    main()
