"""The training loop: Adam, optional regularisers, TF-MOT-style pruning, checkpoints and exact resume.

A run trains ``config.epochs`` epochs unpruned, then ``config.prune_epochs``
epochs with magnitude pruning (a fresh Adam optimiser whose step counter drives
the pruning schedule, as when the thesis code recompiles the pruned Keras
model). The loop reads its data through a small interface (``n_train``,
``train_batches``, ``loss``, ``evaluate_split``) with two implementations:
:class:`_DeviceData`, a chapter-3 :class:`Dataset` held whole on the device,
each epoch indexing a random permutation (no DataLoader), and whatever a
source's ``training_data(device)`` hook returns (a chapter-5 transition dataset
streamed one shard at a time, :mod:`nnstructure.reward.training_data`; dots made
on the fly; adversarial training).

Precision: ``config.precision`` ``"bf16"`` runs every forward pass (training and
evaluation) under bfloat16 autocast (:mod:`nnstructure.train.precision`); weights,
optimiser state and the loss stay float32. ``"auto"`` is resolved once, on the
training device (bf16 where it is native), and the checkpoint's ``train_config``
records the precision used (``precision_setting: auto`` beside it).

Determinism and resume: the permutation, augmentation and dropout randomness
of epoch ``e`` come from seeds derived from ``(seed, e)``, so an epoch does not
depend on the RNG history before it. After every epoch a resume state
(``<out>.partial``: model, optimiser, masks, completed epochs, metrics) is
written atomically; rerunning the same call continues from it and, on CPU,
ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nnstructure
from nnstructure.checkpoint import save_checkpoint
from nnstructure.data.dataset import Dataset
from nnstructure.device import select_device, torch_threads
from nnstructure.io import ArtifactError, atomic_path, write_parquet
from nnstructure.models import build_model, n_parameters, validate_spec
from nnstructure.seeding import derive_seed
from nnstructure.train.augment import augment_batch
from nnstructure.train.clusterable_init import DEFAULT_BETA, clusterable_init_
from nnstructure.train.config import TrainConfig
from nnstructure.train.precision import autocast, resolve_precision
from nnstructure.train.pruning import MagnitudePruner, PolynomialDecay, kernel_sparsity
from nnstructure.train.regularizers import (
    UnmaskedKernels, eigenvalue_estimator, normalize_channels_, normalize_hidden_units_, spectral_penalty, weight_penalty,
)

EVAL_BATCH = 1024
PARTIAL_FORMAT = "nnstructure-resume"


class _DeviceData:
    """A dataset's arrays as device tensors; images stay uint8 and are scaled per batch."""

    streamed = False

    def __init__(self, dataset: Dataset, device: torch.device):
        self.name = dataset.name
        self.task = dataset.task
        self.device = device
        self.is_image = dataset.is_image
        self.classification = dataset.task == "classification"
        self.x_train = torch.as_tensor(dataset.x_train).to(device)
        self.y_train = torch.as_tensor(dataset.y_train).to(device)
        self.x_test = torch.as_tensor(dataset.x_test).to(device)
        self.y_test = torch.as_tensor(dataset.y_test).to(device)
        self._dataset = dataset

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().div_(255.0) if self.is_image else x.float()

    def check_compatible(self, spec: dict, config: TrainConfig) -> None:
        _check_compatible(spec, self._dataset)
        if config.augment and not self.is_image:
            raise ValueError(f"augmentation needs image data, but dataset {self.name!r} is not images; drop --augment")

    def train_batches(self, batch_size: int, shuffle: bool, generator: torch.Generator):
        """``(inputs, targets)`` per step: a permutation drawn from ``generator`` (or the stored order)."""
        n = self.n_train
        order = torch.randperm(n, generator=generator).to(self.device) if shuffle else torch.arange(n, device=self.device)
        for i in range(math.ceil(n / batch_size)):
            idx = order[i * batch_size:(i + 1) * batch_size]
            yield self.inputs(self.x_train[idx]), self.y_train[idx]

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _data_loss(output, y, self.classification)

    def evaluate_split(self, model: nn.Module, split: str) -> tuple[float, float | None]:
        if split == "train":
            return _evaluate_split(model, self, self.x_train, self.y_train)
        return _evaluate_split(model, self, self.x_test, self.y_test)


def _training_data(dataset, device: torch.device):
    """The loop's data interface: a chapter-3 :class:`Dataset` held on the device, or any source with a
    ``training_data(device)`` hook (transition datasets, dots made on the fly, adversarial training)."""
    if isinstance(dataset, Dataset):
        return _DeviceData(dataset, device)
    if hasattr(dataset, "training_data"):
        return dataset.training_data(device)
    raise TypeError(f"cannot train on a {type(dataset).__name__}; pass an nnstructure Dataset or a source with a "
                    "training_data(device) method (e.g. a TransitionDataset)")


def _data_loss(output: torch.Tensor, y: torch.Tensor, classification: bool) -> torch.Tensor:
    return F.cross_entropy(output, y) if classification else F.mse_loss(output, y.float())


@torch.no_grad()
def _evaluate_split(model: nn.Module, data: _DeviceData, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None]:
    total_loss = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for start in range(0, len(x), EVAL_BATCH):
        out = model(data.inputs(x[start:start + EVAL_BATCH])).float()
        yb = y[start:start + EVAL_BATCH]
        if data.classification:
            total_loss += F.cross_entropy(out, yb, reduction="sum").double()
            correct += (out.argmax(dim=1) == yb).sum()
        else:
            total_loss += F.mse_loss(out, yb.float(), reduction="sum").double() / out.shape[1]
    n = max(len(x), 1)
    return float(total_loss) / n, (int(correct) / n if data.classification else None)


def _evaluate_data(model: nn.Module, data, precision: str = "fp32") -> dict:
    was_training = model.training
    model.eval()
    with autocast(data.device, precision):
        train_loss, train_acc = data.evaluate_split(model, "train")
        test_loss, test_acc = data.evaluate_split(model, "test")
    model.train(was_training)
    return {
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "sparsity": kernel_sparsity(model),
        "n_parameters": n_parameters(model),
    }


def evaluate(model: nn.Module, dataset, device: str | torch.device | None = None, precision: str = "fp32") -> dict:
    """Loss (cross-entropy, or MSE per target for regression; no regulariser terms), accuracy
    (``None`` for regression) on both splits, kernel sparsity and parameter count, in eval mode.

    ``dataset`` is a :class:`Dataset` or a transition dataset (loss: MSE of the taken action's output);
    ``precision`` ``"bf16"`` evaluates under bfloat16 autocast."""
    device = device if isinstance(device, torch.device) else select_device(device)
    model.to(device)
    return _evaluate_data(model, _training_data(dataset, device), precision)


def _check_compatible(spec: dict, dataset: Dataset) -> None:
    if spec["n_outputs"] != dataset.n_outputs:
        raise ValueError(f"model has {spec['n_outputs']} outputs but dataset {dataset.name!r} needs {dataset.n_outputs}")
    shape = list(dataset.input_shape)
    if spec["arch"] == "mlp":
        if math.prod(spec["input_shape"]) != math.prod(shape):
            raise ValueError(f"MLP input shape {spec['input_shape']} does not fit dataset {dataset.name!r} inputs {shape}")
    elif spec["input_shape"] != shape:
        raise ValueError(f"{spec['arch']} input shape {spec['input_shape']} differs from dataset {dataset.name!r} inputs {shape}")


def _versions() -> dict:
    return {"torch": str(torch.__version__), "numpy": np.__version__, "nnstructure": nnstructure.__version__}


def _partial_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".partial")


def _write_log(metrics: list[dict], log: str | os.PathLike | None) -> None:
    if log is not None:
        import pandas as pd

        write_parquet(pd.DataFrame(metrics), log)


def _load_partial(path: Path, fingerprint: dict, device: torch.device) -> dict | None:
    """The resume state at ``path`` if it belongs to this exact run, else ``None`` (with a warning)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        warnings.warn(f"ignoring unreadable resume state {path} ({exc}); training starts from scratch")
        return None
    if not isinstance(state, dict) or state.get("format") != PARTIAL_FORMAT or state.get("fingerprint") != fingerprint:
        warnings.warn(f"ignoring resume state {path}: it belongs to a different run configuration; training starts from scratch")
        return None
    return state


def train_network(
    dataset,
    spec: dict,
    config: TrainConfig | dict,
    seed: int,
    out: str | os.PathLike,
    unpruned_out: str | os.PathLike | None = None,
    log: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    extra_metadata: dict | None = None,
    epoch_callback: Callable[[int, dict], None] | None = None,
    progress: bool = True,
) -> dict:
    """Train (and prune) a network, write its checkpoint(s); return the final checkpoint's metadata.

    ``dataset`` is a chapter-3 :class:`Dataset` (held on the device) or a
    chapter-5 :class:`~nnstructure.reward.transitions.TransitionDataset`
    (streamed shard by shard; MSE of the taken action's output). ``out`` gets
    the final network (phase ``"pruned"``, ``"unpruned"`` without pruning epochs, ``"init"`` with no epochs at all); ``unpruned_out`` the one
    at the end of the unpruned phase. ``log`` is a Parquet table with one row per
    epoch. ``epoch_callback(epoch, metrics)`` runs after each epoch's resume
    state is saved (tests use it to simulate a kill). ``extra_metadata`` is merged
    into the checkpoint metadata.
    """
    config = TrainConfig.from_dict(config) if isinstance(config, dict) else config
    spec = validate_spec(spec)
    device = device if isinstance(device, torch.device) else select_device(device)
    requested_precision = config.precision
    if requested_precision == "auto":  # resolved once, on this device: the checkpoint records the precision used
        config = dataclasses.replace(config, precision=resolve_precision(requested_precision, device))
    seed = int(seed)
    data = _training_data(dataset, device)
    data.check_compatible(spec, config)

    model = build_model(spec, seed=derive_seed(seed, "init"))
    if config.clusterable_init:
        beta = config.ci_beta if config.ci_beta is not None else DEFAULT_BETA[spec["arch"]]
        clusterable_init_(model, config.ci_groups, beta, torch.Generator().manual_seed(derive_seed(seed, "clusterable-init")))
    if config.spectral_reg > 0 and spec["arch"] not in ("mlp", "cnn"):
        raise ValueError("the spectral clusterability regularizer reads an MLP's unit graph or a small CNN's channel graph "
                         f"(no batch norm); arch {spec['arch']!r} has neither: use --arch mlp or cnn, or --spectral-reg 0")
    # spectral_reg_method 'power': warm-started LOBPCG, its Ritz vectors carried from step to step (and in the resume state)
    estimator = eigenvalue_estimator(config.spectral_reg_method, config.spectral_eigs, seed=derive_seed(seed, "spectral-power")) \
        if config.spectral_reg > 0 else None
    model.to(device)
    if getattr(data, "channels_last", False):  # conv nets on image batches stored channels-last (oneDNN, cuDNN)
        model.to(memory_format=torch.channels_last)

    n_train = data.n_train
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_epochs = config.epochs + config.prune_epochs
    schedule = PolynomialDecay(
        config.initial_sparsity, config.final_sparsity, 0,
        max(config.prune_epochs * steps_per_epoch, 0), config.prune_power, config.prune_frequency,
    )
    base_meta = {
        "spec": spec,
        "dataset": data.name,
        "task": data.task,
        "train_config": config.to_dict(),
        "seed": seed,
        "device": str(device),
        "versions": _versions(),
        **({"precision_setting": "auto"} if requested_precision == "auto" else {}),
        **(extra_metadata or {}),
    }

    def make_optimizer() -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2), eps=config.adam_eps)

    def checkpoint(path, phase: str, metrics: list[dict], pruner: MagnitudePruner | None) -> dict:
        # Wall-clock "seconds" stay in the metrics table only, so identical runs give identical checkpoints.
        history = [{k: v for k, v in row.items() if k != "seconds"} for row in metrics]
        meta = {**base_meta, "phase": phase, "epochs_trained": len(metrics), "metrics": history, **_evaluate_data(model, data, config.precision)}
        save_checkpoint(path, model, meta, masks=pruner.state_dict() if pruner else None)
        return meta

    fingerprint = {"spec": spec, "config": config.to_dict(), "seed": seed, "dataset": data.name, "n_train": n_train,
                   "sampling": getattr(data, "sampling", None)}
    partial = _partial_path(out)
    state = _load_partial(partial, fingerprint, device)
    start_epoch, metrics = 0, []
    optimizer = make_optimizer()
    pruner: MagnitudePruner | None = None
    if state is not None:
        start_epoch, metrics = int(state["epoch"]), list(state["metrics"])
        print(f"resuming from {partial} at epoch {start_epoch} of {total_epochs}", file=sys.stderr)
        model.load_state_dict(state["model"])
        if start_epoch > config.epochs:
            pruner = MagnitudePruner(model, schedule)
            pruner.load_state_dict(state["masks"])
        if start_epoch != config.epochs:  # at the phase boundary the pruning phase gets a fresh optimiser
            optimizer.load_state_dict(state["optimizer"])
        if estimator is not None and state.get("spectral_estimator") is not None:
            estimator.load_state_dict(state["spectral_estimator"])
        if unpruned_out is not None and start_epoch >= config.epochs and not Path(unpruned_out).exists():
            raise ArtifactError(
                f"resume state {partial} is past the unpruned phase but {unpruned_out} is missing; "
                f"delete {partial} and rerun training"
            )
    elif unpruned_out is not None and config.epochs == 0:
        checkpoint(unpruned_out, "init", metrics, None)

    from tqdm import tqdm

    bar = tqdm(range(start_epoch, total_epochs), desc=f"train {data.name} {spec['arch']}", file=sys.stderr,
               initial=start_epoch, total=total_epochs, disable=not progress, leave=True)
    for epoch in bar:
        if epoch == config.epochs:
            optimizer = make_optimizer()
            pruner = MagnitudePruner(model, schedule)
        for group in optimizer.param_groups:  # lr_schedule (a resumed run gets its epoch's rate too)
            group["lr"] = config.lr_at(epoch)
        row = _train_epoch(model, data, config, optimizer, pruner, epoch, seed, steps_per_epoch, progress=progress,
                           estimator=estimator)
        row.update(_test_metrics(model, data, config.precision))
        row["phase"] = "pruning" if pruner is not None else "unpruned"
        row["target_sparsity"] = schedule.sparsity((epoch - config.epochs + 1) * steps_per_epoch - 1) if pruner else 0.0
        metrics.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.4f}", test_acc=row["test_accuracy"], sparsity=f"{row['sparsity']:.3f}")
        if epoch + 1 == config.epochs and unpruned_out is not None:
            checkpoint(unpruned_out, "unpruned", metrics, None)
        with atomic_path(partial, suffix=".pt") as tmp:
            torch.save({
                "format": PARTIAL_FORMAT, "fingerprint": fingerprint, "epoch": epoch + 1, "metrics": metrics,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "masks": pruner.state_dict() if pruner else None,
                "spectral_estimator": estimator.state_dict() if estimator is not None else None,
            }, tmp)
        _write_log(metrics, log)
        if epoch_callback is not None:
            epoch_callback(epoch, row)
    bar.close()

    phase = "pruned" if config.prune_epochs else ("unpruned" if config.epochs else "init")
    meta = checkpoint(out, phase, metrics, pruner)
    if unpruned_out is not None and config.prune_epochs == 0 and config.epochs > 0:
        save_checkpoint(unpruned_out, model, meta)
    _write_log(metrics, log)
    partial.unlink(missing_ok=True)
    return meta


def _train_epoch(model, data, config: TrainConfig, optimizer, pruner, epoch: int, seed: int, steps_per_epoch: int,
                 progress: bool = False, estimator=None) -> dict:
    """One pass over the training set (``data``: :class:`_DeviceData` or a source's ``training_data`` object).

    Returns Keras-style running metrics: the mean over batches of the training
    loss (regulariser terms included) and accuracy, in training mode. With
    ``progress``, a streamed epoch shows a per-batch progress bar.
    """
    device = data.device
    gen = torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch))
    torch.manual_seed(derive_seed(seed, "dropout", epoch))  # dropout masks (all devices)
    if hasattr(data, "before_epoch"):  # e.g. adversarial training adds examples made with the current model
        data.before_epoch(model, epoch)
    batches = data.train_batches(config.batch_size, config.shuffle, gen)
    if progress and data.streamed:
        from tqdm import tqdm

        batches = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}", unit="batch", file=sys.stderr, leave=False)
    prune_step0 = (epoch - config.epochs) * steps_per_epoch
    # the kernels as TF-MOT's wrapper held them (per epoch: a resumed run needs no extra state)
    unmasked = (UnmaskedKernels(model, pruner)
                if pruner is not None and config.spectral_reg and config.spectral_reads_unmasked else None)
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0  # a sampled epoch (zero-reward discard) may differ from n_train
    t0 = time.perf_counter()
    for i, (x, y) in enumerate(batches):
        if config.augment:
            x = augment_batch(x, gen)
        if pruner is not None:
            pruner.before_step(prune_step0 + i)
        with autocast(device, config.precision):
            out = model(x)
        loss = data.loss(out.float(), y)
        if config.l1 or config.l2:
            loss = loss + weight_penalty(model, config.l1, config.l2, config.l2_first_layer_l1)
        if config.spectral_reg:
            loss = loss + config.spectral_reg * spectral_penalty(
                model, config.spectral_eigs, config.spectral_reduction, unmasked=unmasked, estimator=estimator
            ).to(loss.dtype)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if hasattr(data, "after_backward"):  # e.g. adversarial training clips the gradient norm
            data.after_backward(model)
        if config.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
        optimizer.step()
        if unmasked is not None:
            unmasked.record()  # before the pruner zeroes the masked entries
        if pruner is not None:
            pruner.apply()
        if config.spectral_reg:  # Algorithm 2: MLP hidden units, or conv channels
            (normalize_channels_ if any(isinstance(m, nn.Conv2d) for m in model.modules()) else normalize_hidden_units_)(model)
        loss_sum += loss.detach().double() * len(x)
        seen += len(x)
        if data.classification:  # a weighted source's targets are (labels, weights)
            correct += (out.detach().argmax(dim=1) == (y[0] if isinstance(y, tuple) else y)).sum()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {
        "epoch": epoch + 1,
        "train_loss": float(loss_sum) / max(seen, 1),
        "train_accuracy": int(correct) / max(seen, 1) if data.classification else None,
        "seconds": time.perf_counter() - t0,
        "sparsity": kernel_sparsity(model),
    }


def _test_metrics(model, data, precision: str) -> dict:
    """The learning curve's test metrics: ``data.estimate_split`` where a source has a cheaper per-epoch
    estimate (large transition datasets), else the exact ``evaluate_split``."""
    was = model.training
    model.eval()
    with autocast(data.device, precision):
        loss, acc = getattr(data, "estimate_split", data.evaluate_split)(model, "test")
    model.train(was)
    return {"test_loss": loss, "test_accuracy": acc}


def train_from_settings(
    dataset: Dataset,
    arch: str,
    settings: dict,
    seed: int,
    out: str | os.PathLike,
    unpruned_out: str | os.PathLike | None = None,
    log: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    threads: int | None = None,
    progress: bool = True,
    extra_metadata: dict | None = None,
) -> dict:
    """:func:`train_network` from one flat settings dict (the workflow's and the CLI's training settings).

    ``settings`` holds :class:`TrainConfig` fields plus the :class:`ModelSettings`
    keys ``dropout`` and ``widths`` (unset ones take their defaults); the model
    spec is derived from ``arch`` and the dataset's input shape and output
    count. ``threads`` sets torch's CPU threads while it runs.
    """
    from nnstructure.models import model_spec
    from nnstructure.train.config import split_settings

    config, model = split_settings(settings)
    spec = model_spec(arch, dataset.input_shape, dataset.n_outputs, widths=model.widths, dropout=float(model.dropout or 0.0))
    with torch_threads(threads):
        return train_network(dataset, spec, config, seed, out, unpruned_out=unpruned_out,
                             log=log, device=device, extra_metadata=extra_metadata, progress=progress)
