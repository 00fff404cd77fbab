"""Snakemake entry point: the weight graph of one network phase."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.checkpoint import read_metadata  # noqa: E402
from nnstructure.graph import save_graph, weight_graph  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.graph  # graph settings only where they apply (none for MLPs)
with log_to(sm.log[0]):
    graph = weight_graph(sm.input.network, kernel_norm=p.get("kernel_norm", "l1"),
                         fold_batchnorm=p.get("fold_batchnorm", True))
    # The network's metadata travels with its graph, so later steps (results rows) need not load torch.
    graph.meta["network"] = read_metadata(sm.input.network)
    save_graph(graph, sm.output.graph)
    print(f"{graph.meta.get('kind')} graph: {graph.n_nodes} nodes in {len(graph.layer_sizes)} layers -> {sm.output.graph}")
