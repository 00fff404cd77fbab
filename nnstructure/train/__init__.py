"""Training: Adam loop, TF-MOT-style magnitude pruning, L1/L2 and spectral regularisers, clusterable init."""

from nnstructure.train.config import TrainConfig

# The loop needs torch, so it is imported on first use: reading training settings
# (the workflow's config checks at every Snakemake start, the CLI's options) stays cheap.
_LOOP_EXPORTS = ("evaluate", "train_from_settings", "train_network")


def __getattr__(name: str):
    if name in _LOOP_EXPORTS:
        from nnstructure.train import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrainConfig", "evaluate", "train_from_settings", "train_network"]
