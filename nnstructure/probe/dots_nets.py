"""The dots-and-distances networks of thesis 5.9, trained with the one training loop on images made on the fly.

The architecture is the reward net's (:mod:`nnstructure.models.reward`) with a
3-channel single-image input: 1 output for the regression on the mean
same-colour distance (thesis: 9e5 images x 50 epochs, test MSE 0.0052; 9e6 x 5,
0.0055; mean guessing 0.0166), 2 for the classification "mean distance below
the cut-off that puts 0.93% of images in class 0" (9e6 x 5, cross-entropy
0.013; base rates 0.053). Adam lr 1e-3 (epsilon 1e-8, PyTorch's default, as the
reward nets), batch 128 (the thesis does not say; the reward nets' size).
``class_discard`` thins the common class of the classification task each epoch
(:mod:`nnstructure.data.dots_stream`), as CoinRun's zero-reward discard.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from nnstructure.reward.settings import NETWORK_KIND_SETTINGS
from nnstructure.models.reward import REWARD_CHANNELS, reward_net_spec

DOTS_NET_DEFAULTS: dict = {
    "epochs": 5,
    "prune_epochs": 0,
    "batch_size": 128,
    "lr": 1e-3,
    "adam_eps": 1e-8,
    "width_multiplier": 1.0,
    "channels": list(REWARD_CHANNELS),
    "init": "torch",
    "precision": NETWORK_KIND_SETTINGS["dots"]["precision"]["default"],  # defined in nnstructure.reward.settings
    "class_discard": 0.0,
    "weighting_from_epoch": 1,
}
MODEL_KEYS = ("width_multiplier", "channels", "init")
DATA_KEYS = ("class_discard", "weighting_from_epoch")


def train_dots_net(task: str, n_train: int, n_test: int, settings: dict | None, seed: int, out: str | os.PathLike,
                   data_seed: int = 0, workers: int = 0, log: str | os.PathLike | None = None,
                   device: str | torch.device | None = None, progress: bool = True, epoch_callback=None) -> dict:
    """Train a dots network on ``n_train`` generated images (test: ``n_test`` others); write checkpoint ``out``.

    ``data_seed`` fixes the image stream (networks with the same data seed see the
    same first images); ``seed`` the initialisation and batch order. ``settings``
    update :data:`DOTS_NET_DEFAULTS`. The checkpoint metadata records the task,
    sizes, the cut-off and the input-ignoring baseline loss.
    """
    from nnstructure.data.dots_stream import DotsTrainingData, baseline_loss, n_outputs
    from nnstructure.train.config import TrainConfig
    from nnstructure.train.loop import train_network

    full = {**DOTS_NET_DEFAULTS, **{k: v for k, v in (settings or {}).items() if v is not None}}  # None: the default
    unknown = set(full) - set(DOTS_NET_DEFAULTS) - {f for f in TrainConfig.__dataclass_fields__}
    if unknown:
        raise ValueError(f"unknown dots-net settings {sorted(unknown)}; use {sorted(DOTS_NET_DEFAULTS)} or TrainConfig fields")
    model = {k: full.pop(k) for k in MODEL_KEYS}
    sampling = {k: full.pop(k) for k in DATA_KEYS}
    spec = reward_net_spec([3, 64, 64], n_outputs(task), width_multiplier=model["width_multiplier"],
                           channels=model["channels"], init=model["init"])
    data = DotsTrainingData(task, n_train, n_test, seed=data_seed, workers=workers, **sampling)
    extra = {
        "dots_task": task, "data_seed": int(data_seed), "n_train": int(n_train), "n_test": int(n_test),
        "cutoff": data.cutoff, "baseline_loss": baseline_loss(task, data_seed, n_train, n_test),
        "dots_net_settings": {**full, **model, **sampling}, "dataset_source": f"dots-stream:seed={data_seed}",
    }
    return train_network(data, spec, TrainConfig.from_dict(full), seed, out, log=log, device=device,
                         extra_metadata=extra, epoch_callback=epoch_callback, progress=progress)


def dots_net_row(checkpoint: str | os.PathLike, network: str | None = None) -> dict:
    """One row of the dots-networks table from a checkpoint's metadata."""
    from nnstructure.checkpoint import read_metadata

    meta = read_metadata(checkpoint)
    if "dots_task" not in meta:
        raise ValueError(f"{checkpoint} is not a dots network (no 'dots_task' in its metadata); train it with `nnstructure dots-net`")
    history = meta.get("metrics") or []
    settings = meta.get("dots_net_settings") or {}  # recorded since the recipe settings existed
    return {
        "network": network or Path(checkpoint).stem, "checkpoint": str(checkpoint), "task": meta["dots_task"],
        "n_train": int(meta["n_train"]), "n_test": int(meta["n_test"]), "epochs": int(meta.get("epochs_trained", 0)),
        "width_multiplier": float(meta["spec"]["width_multiplier"]), "seed": int(meta.get("seed", 0)),
        "data_seed": int(meta["data_seed"]), "train_loss": float(history[-1]["train_loss"]) if history else float("nan"),
        "test_loss": float(meta["test_loss"]), "test_accuracy": meta.get("test_accuracy"),
        "baseline_loss": float(meta["baseline_loss"]), "cutoff": meta.get("cutoff"),
        "class_discard": float(settings.get("class_discard") or 0.0),
        "weighting_from_epoch": int(settings.get("weighting_from_epoch") or 1),
    }
