"""The GPU check behind ``benchmarks/gpu_check.sh`` (see there): three timed steps on CUDA, with peak memory."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _report(step: str, samples: int, seconds: float, **extra) -> None:
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(json.dumps({"step": step, "samples": samples, "seconds": round(seconds, 2),
                      "samples_per_second": round(samples / seconds, 1), "peak_gpu_memory_gib": round(peak, 2), **extra}),
          flush=True)
    torch.cuda.reset_peak_memory_stats()


def meta_seconds(log: Path) -> float:
    """The training epoch's own time (without the evaluations) from the per-epoch metrics table."""
    import pandas as pd

    return float(pd.read_parquet(log)["seconds"].iloc[0])


def reward_net_epoch(tmp: Path, dataset: Path | None, n: int) -> None:
    from reward_nets import time_reader, write_synthetic_dataset

    from nnstructure.reward.nets import train_reward_net
    from nnstructure.reward.transitions import TransitionDataset

    if dataset is None:
        dataset = write_synthetic_dataset(tmp / "transitions", n)
    ds = TransitionDataset(dataset)
    reader, _ = time_reader(ds, 128)
    print(json.dumps({"step": "transition reader alone (no model)", "samples_per_second": round(reader, 1)}), flush=True)
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    meta = train_reward_net(dataset, {"epochs": 1, "width_multiplier": 1.0, "batch_size": 128, "precision": "bf16"}, 0,
                            tmp / "reward.pt", log=tmp / "reward.parquet", device="cuda", progress=False)
    torch.cuda.synchronize()
    _report("reward net, width 1, one epoch (bf16, channels-last; includes evaluation)", ds.n("train"),
            time.perf_counter() - t0, train_epoch_seconds=round(meta_seconds(tmp / "reward.parquet"), 2),
            test_loss=round(meta["test_loss"], 4))


def specialization_and_clustering(tmp: Path) -> None:
    from nnstructure.cli import main

    data, net = tmp / "random.npz", tmp / "mlp.pt"
    assert main(["dataset", "random", "--out", str(data)]) == 0
    assert main(["train", "--arch", "mlp", "--dataset", str(data), "--epochs", "2", "--prune-epochs", "0", "--seed", "0",
                 "--out", str(net), "--device", "cuda"]) == 0
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    assert main(["specialization", str(net), "--dataset", str(data), "--partitioning", "weight-network", "--k", "16",
                 "--proxies", "lesion,visualization", "--n-random", "19", "--device", "cuda", "--out", str(tmp / "spec.parquet")]) == 0
    torch.cuda.synchronize()
    _report("chapter-4 specialization of a 4x256 MLP (k 16, 19 random subclusters, lesions + visualisations)", 16 * 20,
            time.perf_counter() - t0, unit="subcluster sets")
    t0 = time.perf_counter()
    assert main(["clusterability", str(net), "--k", "12", "--shuffles", "50", "--out", str(tmp / "clusterability.parquet")]) == 0
    torch.cuda.synchronize()
    _report("clusterability of the MLP's graph on the GPU path (1 + 50 shuffled graphs)", 51, time.perf_counter() - t0,
            unit="graphs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", type=Path, default=None, help="a transition dataset folder (default: 50k synthetic transitions)")
    ap.add_argument("--n", type=int, default=50_000, help="synthetic transitions (default 50,000)")
    args = ap.parse_args()
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        reward_net_epoch(Path(tmp), args.dataset, args.n)
        specialization_and_clustering(Path(tmp))


if __name__ == "__main__":
    main()
