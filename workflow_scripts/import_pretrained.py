"""Snakemake entry point: a torchvision ImageNet weight file as one of our checkpoints."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821  (this workflow's own nnstructure)

from nnstructure.imagenet import find_imagenet_weights  # noqa: E402
from nnstructure.imagenet.weights import import_pretrained  # noqa: E402
from nnstructure.logs import log_to  # noqa: E402

sm = snakemake  # noqa: F821 (injected by Snakemake)
p = sm.params.pretrained
with log_to(sm.log[0]):
    # Found in the data directory (a config value, not a param); the params pin its checksum.
    weights = find_imagenet_weights(sm.config["data_dir"])[p["arch"]]
    meta = import_pretrained(p["arch"], weights, sm.output.network)
    if meta["weights_sha256"] != p["weights_sha256"]:
        raise RuntimeError(f"{weights} changed while the workflow ran (sha256 {meta['weights_sha256']}, "
                           f"expected {p['weights_sha256']}); run the workflow again")
    print(f"imported {weights} (sha256 {meta['weights_sha256']}) -> {sm.output.network}")
