"""Training: Adam loop, TF-MOT-style magnitude pruning, L1/L2 and spectral regularisers, clusterable init."""

from nnstructure.lazy import lazy_exports
from nnstructure.train.config import TrainConfig

# The loop needs torch, so it is imported on first use: reading training settings
# (the workflow's config checks at every Snakemake start, the CLI's options) stays cheap.
__getattr__, __dir__, _loop_names = lazy_exports(__name__, {"loop": ("evaluate", "train_from_settings", "train_network")})
__all__ = ["TrainConfig", *_loop_names]
