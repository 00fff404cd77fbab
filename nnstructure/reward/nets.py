"""Training reward nets on a transition dataset (thesis 5.3) with the one training loop.

:func:`train_reward_net` builds the reward-net spec (:mod:`nnstructure.models.reward`)
and hands a streamed :class:`~nnstructure.reward.transitions.TransitionDataset`
to :func:`nnstructure.train.loop.train_network`: checkpoints in the chapter-3
format, exact resume from ``<out>.partial``, per-epoch metrics Parquet, tqdm
progress. The loss is the MSE between the output of the action taken and the
reward; Adam (lr 1e-3, batch 128, PyTorch's epsilon 1e-8 as the original code).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from nnstructure.models.reward import N_PROCGEN_ACTIONS, REWARD_CHANNELS, channels_text, reward_net_spec
from nnstructure.reward.settings import REWARD_NET_SETTINGS
from nnstructure.reward.settings import defaults as settings_defaults
from nnstructure.reward.settings import without_unset

# Model keys and training-data keys of the flat settings dict; everything else is a TrainConfig field.
MODEL_KEYS = ("width_multiplier", "channels", "init")
SAMPLING_KEYS = ("zero_reward_discard", "discard_weighting", "weighting_from_epoch", "terminal_frame")

#: The defaults of the workflow's reward-net settings (:data:`nnstructure.reward.settings.REWARD_NET_SETTINGS`,
#: their one definition) plus the fixed ones: no pruning, torch's Adam epsilon, the thesis's channels.
REWARD_NET_DEFAULTS: dict = {
    "epochs": 15,
    "prune_epochs": 0,
    "adam_eps": 1e-8,  # torch.optim.Adam's default, as the original PyTorch code
    "channels": list(REWARD_CHANNELS),
    **settings_defaults(REWARD_NET_SETTINGS),
}


def reward_net_settings(settings: dict | None = None) -> dict:
    """The full flat settings of a reward-net run: :data:`REWARD_NET_DEFAULTS` updated with ``settings``."""
    return {**REWARD_NET_DEFAULTS, **without_unset(settings or {})}


def split_reward_settings(settings: dict, input_shape, n_outputs: int):
    """(model spec, TrainConfig) from a flat reward-net settings dict (defaults filled in)."""
    from nnstructure.train.config import TrainConfig

    full = reward_net_settings(settings)
    model = {k: full.pop(k) for k in MODEL_KEYS}
    for k in SAMPLING_KEYS:
        full.pop(k)
    spec = reward_net_spec(input_shape, n_outputs, width_multiplier=model["width_multiplier"],
                           channels=model["channels"], init=model["init"])
    return spec, TrainConfig.from_dict(full)


def mean_guess_mse(dataset) -> dict:
    """The losses of always guessing the mean training reward (thesis 5.3: 0.92 CoinRun, 0.4 Heist).

    ``test``: mean over test transitions of (reward - mean train reward)^2;
    ``all``: the variance of the reward over the whole (kept) dataset, the thesis's number.
    """
    reward = dataset.column("reward").astype(np.float64)
    train, test, keep = dataset.mask("train"), dataset.mask("test"), dataset.mask(None)
    mean_train = reward[train].mean() if train.any() else 0.0
    return {
        "test": float(((reward[test] - mean_train) ** 2).mean()) if test.any() else float("nan"),
        "all": float(reward[keep].var()) if keep.any() else float("nan"),
    }


def train_reward_net(
    dataset_path: str | os.PathLike,
    settings: dict | None,
    seed: int,
    out: str | os.PathLike,
    log: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    threads: int | None = None,
    progress: bool = True,
    epoch_callback=None,
) -> dict:
    """Train a reward net on the transition dataset folder ``dataset_path``; write ``out``; return its metadata.

    ``settings`` is a flat dict of :data:`REWARD_NET_DEFAULTS` keys (model:
    ``width_multiplier``, ``channels``, ``init``; training: any TrainConfig field,
    e.g. ``epochs``, ``batch_size``, ``lr``). The checkpoint metadata records the
    dataset path and game, every setting, the loss definition and the
    mean-guessing baselines. ``threads`` sets torch's CPU threads while it runs.
    """
    from nnstructure.device import torch_threads
    from nnstructure.reward.training_data import TransitionTraining
    from nnstructure.reward.transitions import TransitionDataset
    from nnstructure.train.loop import train_network

    full = reward_net_settings(settings)
    dataset = TransitionDataset(dataset_path, terminal_frame=full["terminal_frame"])
    channels, height, width = dataset.frame_shape
    input_shape = [2 * channels, height, width]

    spec, config = split_reward_settings(full, input_shape, N_PROCGEN_ACTIONS)
    game = str(dataset.column("game")[0]) if "game" in dataset._schema_names and dataset.n_rows else None
    baselines = mean_guess_mse(dataset)
    extra = {
        "dataset_path": str(Path(dataset_path)),
        "game": game,
        "reward_net_settings": full,
        "loss": "mse of the taken action's output",
        "n_train": dataset.n("train"),
        "n_test": dataset.n("test"),
        "mean_guess_test_mse": baselines["test"],
        "mean_guess_mse": baselines["all"],
    }
    source = TransitionTraining(dataset, full["zero_reward_discard"], full["discard_weighting"], full["weighting_from_epoch"])
    with torch_threads(threads):
        return train_network(source, spec, config, seed, out, log=log, device=device, extra_metadata=extra,
                             epoch_callback=epoch_callback, progress=progress)


def reward_net_row(checkpoint: str | os.PathLike, label: str | None = None) -> dict:
    """One results row for a reward-net checkpoint: game, settings, test loss beside the mean-guessing baseline."""
    from nnstructure.checkpoint import read_metadata
    from nnstructure.reward.terminal_frames import network_terminal_frame
    from nnstructure.train.config import TrainConfig
    from nnstructure.train.precision import network_precision

    meta = read_metadata(checkpoint)
    if meta.get("spec", {}).get("arch") != "reward":
        raise ValueError(f"{checkpoint} is not a reward-net checkpoint (arch {meta.get('spec', {}).get('arch')!r})")
    settings = meta.get("reward_net_settings", {})
    history = meta.get("metrics") or []
    return {
        "network": label or Path(checkpoint).stem,
        "checkpoint": str(checkpoint),
        "game": meta.get("game"),
        "epochs": int(meta.get("epochs_trained", 0)),
        "width_multiplier": float(meta["spec"]["width_multiplier"]),
        "channels": channels_text(meta["spec"]),
        "init": meta["spec"].get("init"),
        "seed": int(meta.get("seed", 0)),
        "batch_size": int(settings.get("batch_size", 0)),
        "lr": float(settings.get("lr", float("nan"))),
        # unset: TrainConfig's own defaults (the thesis's constant rate, no clipping)
        "lr_schedule": settings.get("lr_schedule") or TrainConfig.lr_schedule,
        "grad_clip_norm": float(settings.get("grad_clip_norm") or TrainConfig.grad_clip_norm),
        "precision": network_precision(meta),  # the one used (an "auto" setting resolved on its training device)
        "zero_reward_discard": float(settings.get("zero_reward_discard", 0.0)),
        "discard_weighting": bool(settings.get("discard_weighting", True)),
        "weighting_from_epoch": int(settings.get("weighting_from_epoch", 1)),
        "terminal_frame": network_terminal_frame(meta),
        "n_train": int(meta.get("n_train", 0)),
        "n_test": int(meta.get("n_test", 0)),
        "train_loss": float(history[-1]["train_loss"]) if history else float("nan"),
        "train_loss_eval": float(meta.get("train_loss", float("nan"))),
        "test_loss": float(meta.get("test_loss", float("nan"))),
        "mean_guess_test_mse": float(meta.get("mean_guess_test_mse", float("nan"))),
        "mean_guess_mse": float(meta.get("mean_guess_mse", float("nan"))),
        "dataset_path": meta.get("dataset_path"),
    }


def load_reward_net(checkpoint: str | os.PathLike, device: str | torch.device | None = None, allow_pickle: bool = False):
    """A transition reward net (:class:`~nnstructure.checkpoint.Checkpoint`) on ``device``, in eval mode.

    Every format :func:`nnstructure.network_io.load_network` reads is taken (our
    checkpoints, which must hold a reward net; TorchScript; a state dict of our
    reward-net layout or of a plain stack; with ``allow_pickle``, a pickled
    module). The network must map a batch of observation-next-observation pairs,
    6 x 64 x 64 in [0, 1], to 15 predicted rewards, which is checked with one
    forward pass (:class:`~nnstructure.network_io.NetworkInputError`, one line,
    naming the shape it expects and the one it was given).
    """
    from nnstructure.checkpoint import Checkpoint
    from nnstructure.device import select_device
    from nnstructure.network_io import NetworkInputError, check_network_inputs, load_network

    device = device if isinstance(device, torch.device) else select_device(device)
    model, metadata = load_network(checkpoint, allow_pickle=allow_pickle)
    model = model.to(device).eval()
    if metadata["network_format"] == "nnstructure checkpoint" and metadata["spec"].get("arch") != "reward":
        spec = metadata["spec"]
        raise ValueError(f"{checkpoint} is not a transition reward net (arch {spec.get('arch')!r}, input "
                         f"{spec.get('input_shape')}); pass a checkpoint made by `nnstructure reward-net`")
    transition = torch.zeros(1, 6, 64, 64)
    check_network_inputs(model, transition, "procgen transitions (observation and next observation)", metadata)
    with torch.no_grad():
        out = model(transition.to(device))
    if tuple(out.shape) != (1, N_PROCGEN_ACTIONS):
        raise NetworkInputError(f"{checkpoint}: a reward net maps (batch, 6, 64, 64) transitions to (batch, "
                                f"{N_PROCGEN_ACTIONS}) predicted rewards, one per action, but this network gives "
                                f"{tuple(out.shape)}")
    spec = metadata.get("spec") or {"arch": "external", "input_shape": [6, 64, 64], "n_outputs": N_PROCGEN_ACTIONS}
    return Checkpoint(model=model, metadata={**metadata, "spec": spec}, path=Path(checkpoint))
