"""Snakemake entry point: n-cuts of shuffled copies of one graph (the device used is recorded per shuffle).

The job's ``threads`` are its worker processes, each single-threaded (one kind of
parallelism; see nnstructure.cluster.parallel). The log's last line gives the CPU
time of the whole job (this process, start-up included, and its workers), which
``benchmarks/shuffles_job.py`` compares with the library's time per graph.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cluster.relative import shuffle_table  # noqa: E402
from nnstructure.graph import load_graph  # noqa: E402
from nnstructure.io import write_parquet  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.shuffle
with log_to(sm.log[0]):
    table = shuffle_table(load_graph(sm.input.graph), k=p["k"], n_shuffles=p["n_shuffles"], kind=p["kind"],
                          n_init=p["n_init"], seed=p["seed"], n_jobs=sm.threads, device=sm.config["device"])
    write_parquet(table, sm.output.shuffles)
    print(f"{len(table)} {p['kind']} shuffles on {table['device'].iloc[0]} with {sm.threads} process(es): "
          f"mean n-cut {table['ncut'].mean():.4f}")
    t = os.times()
    print(f"job CPU time: {t.user + t.system + t.children_user + t.children_system:.3f} s")
