# nnstructure: reproduce "Structure and Representation in Neural Networks" (Filan, 2024).
#
#   snakemake --cores N                                   # default fast preset (config.yaml)
#   snakemake --cores N --configfile config/paper.yaml    # every experiment at the thesis's settings
#   snakemake --profile profiles/slurm --configfile config/paper.yaml
#
# The config's `networks` say what is trained (or initialised, or loaded); each
# analysis section names the network sets it uses. All logic lives in the
# `nnstructure` package; rules call thin scripts in workflow_scripts/.

from pathlib import Path

from snakemake.utils import min_version, validate

from nnstructure import workflow as wc
from nnstructure.cluster.methods import METHODS
from nnstructure.cluster.shuffle import SHUFFLE_KINDS
from nnstructure.config_check import check_config, fill_defaults
from nnstructure.paths import PHASE_FILES, ArtifactPaths
from nnstructure.specialization.choices import PARTITIONINGS

min_version("9.0")


# config.yaml is the default preset; a preset given with --configfile replaces it
# (instead of being merged into it, which would mix the presets' networks).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


check_config(config, workflow.source_path("config/schema.yaml"))
validate(config, "config/schema.yaml")  # also fills the schema's defaults, but not inside cluster jobs:
fill_defaults(config, workflow.source_path("config/schema.yaml"))  # so every job sees the same config
wc.normalise_numbers(config, workflow.source_path("config/schema.yaml"))  # dropout: 0 is dropout: 0.0

RESULTS = f"{config['results_dir']}/{config['preset']}"
PATHS = ArtifactPaths(RESULTS)
ENV = "../envs/nnstructure.yaml"


wildcard_constraints:
    network_set=wc.NAME_REGEX,
    entry=wc.NAME_REGEX,
    condition=wc.NAME_REGEX,
    dataset=r"[a-z0-9-]+",
    seed=r"\d+",
    phase=wc.one_of(PHASE_FILES),
    k=r"\d+|auto",  # auto: clusterability's eigengap choice (wc.k_setting)
    kind=wc.one_of((*SHUFFLE_KINDS, "none")),  # none: a row without shuffles (n_shuffles: 0)
    partitioning=wc.one_of(PARTITIONINGS),
    method=wc.one_of(METHODS),
    transitions=wc.NAME_REGEX,
    shard=r"\d{5}",
    variant=r"clip|noclip|edits",
    mode=r"denovo|from-dataset|from-edits",
    init=r"trained|random\d+",
    layer=r"\d+",
    target=r"[a-z_]+",
    filtered=r"all|filtered",


include: "rules/common.smk"
include: "rules/datasets.smk"
include: "rules/networks.smk"
include: "rules/transitions.smk"
include: "rules/clusterability.smk"
include: "rules/specialization.smk"
include: "rules/partition_methods.smk"
include: "rules/reward.smk"
include: "rules/probes.smk"
include: "rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True


# Every rule's params in one canonical form (sorted keys, lists): Snakemake reruns a job when the
# repr of its params changes, so a config written in another key order must not change them.
canonical_params_of_rules(workflow.rules)


onerror:
    # Snakemake's error block says "message: None": show each failed job's own error line from its log.
    from nnstructure.logs import report_failed_jobs

    report_failed_jobs(log)
