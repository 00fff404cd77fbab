"""Snakemake entry point: shuffled copies of one graph, each partitioned by the entry's partition method (leiden,
louvain, infomap; issue 21), the way ``cluster_by_method.py`` partitions the network: like with like.

One row per shuffle with its n-cut, modularity and number of clusters. The job's ``threads`` are its worker
processes, each single-threaded (nnstructure.cluster.parallel). Spectral entries run ``shuffles.py`` (rule
``shuffles``), unchanged.
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
                          n_init=p["n_init"], seed=p["seed"], n_jobs=sm.threads, device="cpu", method=p["method"],
                          settings=p["method_settings"])
    write_parquet(table, sm.output.shuffles)
    print(f"{len(table)} {p['kind']} shuffles partitioned by {p['method']} with {sm.threads} process(es): "
          f"mean n-cut {table['ncut'].mean():.4f}, mean modularity {table['modularity'].mean():.4f}, "
          f"mean clusters {table['n_clusters'].mean():.1f}")
    t = os.times()
    print(f"job CPU time: {t.user + t.system + t.children_user + t.children_system:.3f} s")
