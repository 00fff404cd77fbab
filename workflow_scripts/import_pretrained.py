"""Snakemake entry point: a torchvision ImageNet weight file as one of our checkpoints."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.imagenet.weights import import_pretrained  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
with log_to(sm.log[0]):
    meta = import_pretrained(sm.params.pretrained["arch"], sm.input.weights, sm.output.network)
    print(f"imported {sm.input.weights} (sha256 {meta['weights_sha256']}) -> {sm.output.network}")
