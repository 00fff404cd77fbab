"""Training: Adam loop, TF-MOT-style magnitude pruning, L1/L2 and spectral regularisers, clusterable init."""

from nnstructure.train.config import TrainConfig
from nnstructure.train.loop import evaluate, train_from_settings, train_network

__all__ = ["TrainConfig", "evaluate", "train_from_settings", "train_network"]
