"""Snakemake entry point: one graph partitioned by the entry's partition method (leiden, louvain, infomap; issue 21).

The labels table carries the method, its settings, the number of clusters found, the n-cut, modularity and
cluster sizes in its metadata. Spectral entries run ``cluster.py`` (rule ``cluster``), unchanged.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.cluster import cluster_graph  # noqa: E402
from nnstructure.cluster.labels_table import write_cluster_labels  # noqa: E402
from nnstructure.graph import load_graph  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.cluster
with log_to(sm.log[0]):
    graph = load_graph(sm.input.graph)
    labels, summary = cluster_graph(graph, k=p["k"], n_init=p["n_init"], seed=p["seed"], method=p["method"],
                                    settings=p["method_settings"])
    write_cluster_labels(graph, labels, summary, sm.output.labels)
    print(summary)
