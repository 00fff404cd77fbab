"""Snakemake entry point: the pooled layers of one network (trained or a random baseline), cached once for every probe."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.logs import log_to  # noqa: E402
from nnstructure.probe.steps import probe_features  # noqa: E402
from nnstructure.workflow.config import job_network_name  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.features
with log_to(sm.log[0]):
    # A dots network is probed on fresh dots images (its params' dots_seed), the others on their transitions.
    dataset = None if "dots_seed" in p else str(Path(sm.input.transitions).parent)
    probe_features(sm.input.network, sm.output.features, p, dataset=dataset, network=job_network_name(sm.wildcards),
                   device=sm.config["device"], progress=False)
