"""The workflow's real shuffles job against the library, per graph, on the same network.

Runs this repository's Snakefile in a temporary folder on a one-network config
(a randomly initialised 4x256 MLP, unpruned, or ``--cnn`` the small CNN: no data
and no training needed), up to the ``shuffles`` rule (``--until shuffles``: the
network, its graph and one shuffles job of ``--n-shuffles`` layer shuffles with
``--threads`` worker processes, as ``make run`` runs it). The job's CPU time is
the last line of its log (the job's process from interpreter start, imports
included, and its workers); Snakemake's own benchmark file is printed too (it
samples the process tree, so it can miss short-lived workers).

Then, in this process, the library clusters the same graph's shuffles
(``shuffle_table``, one process, warm) and the ratio of the two per-graph CPU
times is printed: the overhead of running as a workflow job.

    .venv/bin/python benchmarks/shuffles_job.py [--n-shuffles 20] [--threads 2] [--cnn] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """preset: bench
results_dir: {results}
data_dir: data
device: auto
threads: {{shuffles: {threads}}}
networks:
  net:
    kind: random_init
    arch: {arch}
    dataset: mnist
    seeds: [0]
clusterability:
  k: 12
  n_init: 25
  n_shuffles: {n_shuffles}
  shuffle: layer
  networks:
    net: {{}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-shuffles", type=int, default=20, help="shuffles in the job (default preset: 20)")
    parser.add_argument("--threads", type=int, default=2, help="the job's threads: (worker processes)")
    parser.add_argument("--cnn", action="store_true", help="the small CNN's channel graph instead of the MLP")
    parser.add_argument("--keep", help="run in this folder and keep it (default: a temporary folder, removed)")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="shuffles-job-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        results = work / "results"
        (work / "bench.yaml").write_text(CONFIG.format(results=results, threads=args.threads,
                                                       arch="cnn" if args.cnn else "mlp", n_shuffles=args.n_shuffles))
        cmd = [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
               "--configfile", str(work / "bench.yaml"), "--cores", str(args.threads), "--until", "shuffles", "--quiet"]
        t = time.perf_counter()
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        print(f"workflow up to the shuffles rule: {time.perf_counter() - t:.1f} s wall (Snakemake, network, graph, shuffles)")

        log = next((results / "bench" / "logs" / "shuffles").rglob("*.log"))
        text = log.read_text()
        job_cpu = float(re.search(r"job CPU time: ([0-9.]+) s", text).group(1))
        bench = pd.read_csv(next((results / "bench" / "benchmarks" / "shuffles").rglob("*.tsv")), sep="\t").iloc[0]
        table = pd.read_parquet(next((results / "bench" / "clusterability" / "shuffles").rglob("*.parquet")))
        graph_file = next((results / "bench" / "clusterability" / "graphs").rglob("*.npz"))
        print(f"job: {args.n_shuffles} shuffles, threads {args.threads}: CPU {job_cpu:.2f} s = "
              f"{job_cpu / args.n_shuffles:.4f} s/graph (Snakemake's benchmark file: {bench['s']:.2f} s wall, "
              f"{bench['cpu_time']:.2f} s CPU sampled); mean n-cut {table['ncut'].mean():.4f}")

        from nnstructure.cluster.relative import shuffle_table
        from nnstructure.graph import load_graph

        graph = load_graph(graph_file)
        shuffle_table(graph, k=12, n_shuffles=1, kind="layer", n_init=25, seed=1, n_jobs=1, device="cpu")  # warm up
        c = time.process_time()
        lib = shuffle_table(graph, k=12, n_shuffles=args.n_shuffles, kind="layer", n_init=25, seed=1, n_jobs=1, device="cpu")
        lib_cpu = time.process_time() - c
        print(f"library: {graph.n_nodes} nodes, {graph.adjacency.nnz // 2} edges, {args.n_shuffles} shuffles in one "
              f"process: CPU {lib_cpu:.2f} s = {lib_cpu / args.n_shuffles:.4f} s/graph; mean n-cut {lib['ncut'].mean():.4f}")
        print(f"job / library, CPU time per graph: {job_cpu / lib_cpu:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
