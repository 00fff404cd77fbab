# nnstructure: reproduce "Structure and Representation in Neural Networks" (Filan, 2024).
#
#   snakemake --cores N                                   # default fast preset (config.yaml)
#   snakemake --cores N --configfile config/paper.yaml    # every chapter-3 experiment
#   snakemake --profile profiles/slurm --configfile config/paper.yaml
#
# All logic lives in the `nnstructure` package; rules call workflow_scripts/ or the CLI.

import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

from nnstructure import workflow_config as wc
from nnstructure.config_check import check_config

min_version("9.0")


# config.yaml is the default preset; a preset given with --configfile replaces it
# (instead of being merged into it, which would mix the presets' experiments).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"


check_config(config, workflow.source_path("config/schema.yaml"))
validate(config, "config/schema.yaml")  # fills the schema's defaults

RESULTS = f"{config['results_dir']}/{config['preset']}"
# The CLI of the environment running Snakemake (no reliance on an activated venv).
NNSTRUCTURE = f"{shlex.quote(sys.executable)} -m nnstructure"
DATA_DIR = config["data_dir"]


wildcard_constraints:
    experiment=r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*",
    condition=r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*",
    dataset=r"[a-z0-9-]+",
    seed=r"\d+",
    phase=r"unpruned|pruned",
    k=r"\d+",
    kind=r"layer|nonzero|none",


include: "rules/common.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/clusterability.smk"
include: "rules/imagenet.smk"
include: "rules/report.smk"


rule all:
    input:
        dataset_targets(),
        report_targets(),
        imagenet_targets(),
    default_target: True
