"""Adversarial training of a CoinRun reward net (thesis 5.8), through the one training loop.

The run the thesis reports: 10 epochs, batch 256, Adam; after epoch ``g`` for
``g = 5 .. 9`` the network's highest-predicted-reward training transitions are
optimised for 16 steps for predicted reward (:func:`~nnstructure.reward.visualize.optimize_transitions`:
pixel space, Adam lr 0.05, random translations up to 8 pixels) and added to
the training set with label 0, so epochs 6-10 train on them; their number per
addition is a fraction of the training set: 0.1% (the thesis text, variant
``"thesis-text"``) or 4% (the original code, ``"original-code"``). Once
adversarial examples are in the training set every batch gradient is clipped to
the 99th percentile of the gradient norms of the epoch before the first
addition (epoch 5). After the last epoch a final set is made the same way and
only evaluated: the thesis reports its MSE against label 0 (436.4, i.e. a
typical predicted reward of ~21). Our reading of "adding adversarial examples
in every epoch starting in epoch 5" is recorded in every output
(``first_adversarial_epoch``: the first epoch after which examples are made).

Files under ``examples_dir`` (each written atomically). While training runs they
live in the working folder ``<examples_dir>.partial`` beside the loop's
``<out>.partial``, and the folder is renamed to ``examples_dir`` only when the
run is complete: a workflow that deletes its declared (incomplete) outputs before
a rerun leaves both resume files alone, so a killed run resumes with the same examples:

* ``examples-epoch-GG.npz``: the set made after epoch ``GG`` (obs, next_obs float16
  in [0, 1], actions, source rows, predicted rewards before and after optimisation);
* ``clip-reference.npz``: gradient norms of epoch ``first_adversarial_epoch`` and the clip threshold;
* ``epoch-EE.json``: per-epoch gradient-norm and clipping statistics.

The loop calls :meth:`AdversarialTrainingData.before_epoch` (add the set made
with the current model) and :meth:`~AdversarialTrainingData.after_backward`
(record and clip the gradient norm) through its data-source hooks.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnstructure.io import ArtifactError, atomic_path, json_default, write_json
from nnstructure.reward.training_data import StreamedTransitions
from nnstructure.reward.settings import CANDIDATE_POOLS, NETWORK_KIND_SETTINGS, without_unset
from nnstructure.models.reward import (N_PROCGEN_ACTIONS, REWARD_CHANNELS, channels_text, reward_net_spec, taken_action_output,
                                       transition_inputs)
from nnstructure.seeding import derive_seed

FRACTIONS = {"thesis-text": 0.001, "original-code": 0.04}

ADVERSARIAL_DEFAULTS: dict = {
    "epochs": 10,
    "prune_epochs": 0,
    "batch_size": 256,
    "lr": 1e-3,
    "adam_eps": 1e-8,
    "width_multiplier": 1.0,
    "channels": list(REWARD_CHANNELS),
    "init": "torch",
    "first_adversarial_epoch": 5,
    "adversarial_fraction": FRACTIONS["thesis-text"],
    "optimization_steps": 16,
    "optimization_lr": 0.05,
    "max_shift": 8,
    "optimization_batch": 64,
    "clip_percentile": 99.0,
    "candidate_pool": CANDIDATE_POOLS[0],  # all: the thesis
    "zero_reward_discard": 0.0,
    "discard_weighting": True,
    "weighting_from_epoch": 1,
    "terminal_frame": NETWORK_KIND_SETTINGS["adversarial"]["terminal_frame"]["default"],
    "precision": NETWORK_KIND_SETTINGS["adversarial"]["precision"]["default"],  # defined in nnstructure.reward.settings
}
MODEL_KEYS = ("width_multiplier", "channels", "init")
ADVERSARIAL_KEYS = ("first_adversarial_epoch", "adversarial_fraction", "optimization_steps", "optimization_lr",
                    "max_shift", "optimization_batch", "clip_percentile", "candidate_pool", "zero_reward_discard",
                    "discard_weighting", "weighting_from_epoch", "terminal_frame")


def fraction_variant(fraction: float) -> str:
    """``"thesis-text"`` (0.1%), ``"original-code"`` (4%) or ``"custom"``."""
    return next((name for name, value in FRACTIONS.items() if math.isclose(fraction, value)), "custom")


def examples_path(examples_dir: str | os.PathLike, epoch: int) -> Path:
    return Path(examples_dir) / f"examples-epoch-{int(epoch):02d}.npz"


def generation_epochs(epochs: int, first: int) -> list[int]:
    """Epochs (1-indexed) after which a training set of adversarial examples is made: ``first .. epochs - 1``."""
    return list(range(first, epochs))


def n_examples(fraction: float, n_train: int) -> int:
    """Adversarial examples per addition: ``round(fraction * n_train)``, at least 1."""
    return max(1, int(round(fraction * n_train)))


@torch.no_grad()
def predicted_rewards(model: nn.Module, dataset, split: str = "train", batch_size: int = 256,
                      precision: str = "fp32", where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(table rows, taken-action predicted reward) of every kept transition of ``split`` (within the boolean row
    mask ``where``, if given), in table order.

    ``precision`` ``"bf16"`` runs the forward passes under bfloat16 autocast, as the net trains: this pass reads
    every training transition (about 5 epochs' worth under an 80% discard), so in float32 it cost more than training."""
    from nnstructure.train.precision import autocast

    device = next(model.parameters()).device
    was = model.training
    model.eval()
    rows, preds = [], []
    for batch in dataset.batches(split, batch_size, shuffle=False, columns=("row",), where=where):
        x = transition_inputs(batch["obs"].to(device), batch["next_obs"].to(device))
        with autocast(device, precision):
            out = model(x)
        preds.append(taken_action_output(out.float(), batch["action"].to(device)).cpu())
        rows.append(batch["row"])
    model.train(was)
    return torch.cat(rows).numpy(), torch.cat(preds).numpy()


def make_adversarial_examples(model: nn.Module, dataset, n: int, steps: int = 16, lr: float = 0.05, max_shift: int = 8,
                              seed: int = 0, chunk: int = 64, precision: str = "fp32",
                              candidates: np.ndarray | None = None) -> dict:
    """The ``n`` training transitions with the highest predicted reward, optimised ``steps`` steps for predicted reward.

    ``candidates``: a boolean row mask of the training transitions ranked (:meth:`AdversarialTrainingData.candidates`);
    None: every one (the thesis).

    Returns ``obs``/``next_obs`` (float [n, 3, H, W] in [0, 1]), ``actions``,
    ``rows`` (source rows), ``source_predicted_reward`` and ``predicted_reward``
    (after optimisation, on the untranslated images). Optimised in chunks of
    ``chunk`` transitions (memory), each with its own seed. ``precision`` is the one the
    candidates are ranked in (:func:`predicted_rewards`).
    """
    from nnstructure.reward.visualize import optimize_transitions

    rows, preds = predicted_rewards(model, dataset, "train", precision=precision, where=candidates)
    if len(rows) == 0:
        raise ValueError(f"{dataset.path} has no training transitions to make adversarial examples from")
    top = np.argsort(-preds, kind="stable")[:n]
    start = dataset.load(rows[top])
    obs, nxt, rewards = [], [], []
    for k in range(0, len(top), chunk):
        sl = slice(k, k + chunk)
        vis = optimize_transitions(model, start["obs"][sl], start["next_obs"][sl], start["action"][sl], steps=steps, lr=lr,
                                   max_shift=max_shift, seed=derive_seed(seed, "chunk", k), snapshots=())
        obs.append(vis.obs[-1])
        nxt.append(vis.next_obs[-1])
        rewards.append(vis.rewards[-1])
    return {"obs": torch.cat(obs), "next_obs": torch.cat(nxt), "actions": start["action"].clone(), "rows": rows[top],
            "source_predicted_reward": preds[top].astype(np.float32), "predicted_reward": torch.cat(rewards).numpy()}


def save_examples(path: str | os.PathLike, examples: dict, epoch: int) -> None:
    """Write an example set atomically (images as float16 in [0, 1])."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, obs=examples["obs"].numpy().astype(np.float16),
                            next_obs=examples["next_obs"].numpy().astype(np.float16),
                            actions=np.asarray(examples["actions"], dtype=np.int64), rows=np.asarray(examples["rows"], dtype=np.int64),
                            source_predicted_reward=np.asarray(examples["source_predicted_reward"], dtype=np.float32),
                            predicted_reward=np.asarray(examples["predicted_reward"], dtype=np.float32), epoch=np.int64(epoch))


def load_examples(path: str | os.PathLike) -> dict:
    """An example set written by :func:`save_examples` (images back as float32 tensors)."""
    path = Path(path)
    try:
        with np.load(path) as z:
            out = {k: z[k] for k in z.files}
    except Exception as exc:
        raise ArtifactError(f"adversarial example set {path} is missing or corrupt ({exc}); delete it and the run's "
                            f"<checkpoint>.partial, then rerun adversarial training") from exc
    out["obs"] = torch.from_numpy(out["obs"].astype(np.float32))
    out["next_obs"] = torch.from_numpy(out["next_obs"].astype(np.float32))
    out["actions"] = torch.from_numpy(out["actions"])
    return out


def _total_grad_norm(parameters) -> torch.Tensor:
    grads = [p.grad for p in parameters if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


class AdversarialTrainingData:
    """A transition dataset plus the adversarial examples added so far: the loop's data source for :func:`adversarial_train`."""

    streamed = True
    is_image = False
    classification = False
    channels_last = True
    task = "reward-regression"

    def __init__(self, dataset, examples_dir: str | os.PathLike, settings: dict, seed: int, device: torch.device | None = None):
        self.dataset = dataset
        self.examples_dir = Path(examples_dir)
        self.settings = {k: settings[k] for k in ADVERSARIAL_KEYS}
        self.epochs = int(settings["epochs"])
        self.precision = str(settings.get("precision", "fp32"))  # the example pass ranks candidates in it
        self.seed = int(seed)
        self.device = device
        self.name = f"{dataset.name}-adversarial"
        self.n_base = dataset.n("train")  # the training set whose share the example sets are
        if self.n_base == 0:
            raise ValueError(f"transition dataset {dataset.path} has no training transitions; regenerate it with more episodes")
        # The dataset's own transitions of an epoch, with the zero-reward discard and its weighting.
        self.base = StreamedTransitions(dataset, device, self.settings["zero_reward_discard"], self.settings["discard_weighting"],
                                        self.settings["weighting_from_epoch"])
        self.sampling = self.base.sampling
        self.sets: dict[int, dict] = {}
        self.threshold: float | None = None
        self._epoch = 0
        self._norms: list[torch.Tensor] = []
        self._clipped = 0

    def training_data(self, device: torch.device) -> "AdversarialTrainingData":
        return AdversarialTrainingData(self.dataset, self.examples_dir, {**self.settings, "epochs": self.epochs, "precision": self.precision}, self.seed, device)

    @property
    def n_train(self) -> int:
        return self.base.n_train + self.n_adversarial

    @property
    def n_adversarial(self) -> int:
        """Adversarial examples trained on this epoch (every set made so far)."""
        return sum(len(s["actions"]) for s in self.sets.values())

    @property
    def n_per_set(self) -> int:
        return n_examples(self.settings["adversarial_fraction"], self.n_base)

    def candidates(self, epoch: int) -> np.ndarray | None:
        """The training transitions ranked for the set made after ``epoch`` (1-indexed): None for every one
        (``candidate_pool: all``, the thesis: a pass over the whole training set, 19 CPU-minutes at width 1/32 on the
        full CoinRun dataset), or, for ``epoch-sample``, every rewarded one and a share 1 - zero_reward_discard of
        the others drawn from the run's seed and ``epoch`` (the size of a discarded epoch, 1/15 of the pass at 0.95).
        The thesis's highest-predicted-reward transitions are then those of the sample."""
        if self.settings["candidate_pool"] == "all":
            return None
        return self.base.epoch_mask(derive_seed(self.seed, "candidates", int(epoch)))

    def check_compatible(self, spec: dict, config) -> None:
        c, h, w = self.dataset.frame_shape
        if spec["input_shape"] != [2 * c, h, w]:
            raise ValueError(f"model input shape {spec['input_shape']} differs from the transitions' [obs, next_obs] shape {[2 * c, h, w]}")
        if spec["n_outputs"] != N_PROCGEN_ACTIONS:
            raise ValueError(f"a procgen reward net needs {N_PROCGEN_ACTIONS} outputs (one per action), got {spec['n_outputs']}")
        if config.augment:
            raise ValueError("augmentation is not implemented for transition datasets; drop --augment")

    # --- hooks called by the training loop -----------------------------------------

    def before_epoch(self, model: nn.Module, epoch: int) -> None:
        """Before 0-indexed ``epoch``: hold every set made after epochs ``<= epoch``; make the newest with ``model``."""
        self._epoch = epoch
        self.base.before_epoch(model, epoch)
        self._norms, self._clipped = [], 0
        first = self.settings["first_adversarial_epoch"]
        for g in generation_epochs(self.epochs, first):
            if g > epoch or g in self.sets:
                continue
            path = examples_path(self.examples_dir, g)
            if path.exists():
                self.sets[g] = self._half(load_examples(path))
            elif g == epoch:  # the model now is the model after epoch g
                made = make_adversarial_examples(model, self.dataset, self.n_per_set, self.settings["optimization_steps"],
                                                 self.settings["optimization_lr"], self.settings["max_shift"],
                                                 derive_seed(self.seed, "adversarial", g), self.settings["optimization_batch"],
                                                 precision=self.precision, candidates=self.candidates(g))
                save_examples(path, made, g)
                self.sets[g] = self._half(load_examples(path))  # train on exactly what is stored
            else:
                raise ArtifactError(f"adversarial example set {path} (made after epoch {g}) is missing but training resumes "
                                    f"after epoch {epoch}; delete the run's <checkpoint>.partial and {self.examples_dir}, then rerun")
        if self.sets and self.threshold is None:
            self.threshold = float(np.load(self._clip_path())["threshold"]) if self._clip_path().exists() else None
            if self.threshold is None:
                raise ArtifactError(f"{self._clip_path()} (the clip threshold from epoch {first}) is missing; delete the run's "
                                    f"<checkpoint>.partial and {self.examples_dir}, then rerun")

    @staticmethod
    def _half(examples: dict) -> dict:
        """Images kept as float16 in memory (they are stored as float16): half the memory of the 4% variant."""
        return {**examples, "obs": examples["obs"].half(), "next_obs": examples["next_obs"].half()}

    def after_backward(self, model: nn.Module) -> None:
        """Record the batch gradient's norm; once adversarial examples are in, clip it to the threshold."""
        params = [p for p in model.parameters() if p.grad is not None]
        if self.sets:
            norm = torch.nn.utils.clip_grad_norm_(params, self.threshold)
            self._clipped += norm > self.threshold
        else:
            norm = _total_grad_norm(params)
        self._norms.append(norm.detach())

    # --- batches --------------------------------------------------------------------

    def _clip_path(self) -> Path:
        return self.examples_dir / "clip-reference.npz"

    def train_batches(self, batch_size: int, shuffle: bool, generator: torch.Generator):
        """Training transitions (streamed shard by shard; with ``zero_reward_discard``, the epoch's sample and its
        loss weights) with the adversarial examples spread over the epoch at random positions, in batches of
        exactly ``batch_size`` (the last may be smaller); label 0 and weight 1 for examples."""
        order_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        rng = np.random.default_rng(derive_seed(order_seed, "adversarial-positions"))
        adv_x, adv_a = self._adversarial_tensors()
        epoch = self.base.epoch_mask(order_seed)
        n_batches = math.ceil(int(epoch.sum()) / batch_size)
        slot = rng.integers(0, n_batches, size=len(adv_a)) if len(adv_a) else np.zeros(0, dtype=np.int64)
        carry: list[tuple[torch.Tensor, ...]] = []
        carry_n = 0
        for b, (x, (a, r, w)) in enumerate(self.base._batches(batch_size, shuffle, order_seed, epoch, weighted=True,
                                                              zero_weight=self.base.epoch_zero_weight())):
            mine = np.flatnonzero(slot == b)
            if len(mine):
                x = torch.cat([x, adv_x[mine].to(self.device).float()])
                a = torch.cat([a, adv_a[mine].to(self.device)])
                r = torch.cat([r, torch.zeros(len(mine), device=self.device)])
                w = torch.cat([w, torch.ones(len(mine), device=self.device)])
                perm = torch.from_numpy(rng.permutation(len(a))).to(self.device)
                x, a, r, w = x[perm], a[perm], r[perm], w[perm]
            carry.append((x, a, r, w))
            carry_n += len(a)
            while carry_n >= batch_size:
                x, a, r, w = (torch.cat(parts) for parts in zip(*carry))
                yield x[:batch_size].contiguous(memory_format=torch.channels_last), (a[:batch_size], r[:batch_size], w[:batch_size])
                carry = [(x[batch_size:], a[batch_size:], r[batch_size:], w[batch_size:])]
                carry_n -= batch_size
        if carry_n:
            x, a, r, w = (torch.cat(parts) for parts in zip(*carry))
            yield x.contiguous(memory_format=torch.channels_last), (a, r, w)
        self._end_of_epoch()

    def _adversarial_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.sets:
            return torch.zeros(0), torch.zeros(0, dtype=torch.int64)
        sets = [self.sets[g] for g in sorted(self.sets)]
        return torch.cat([torch.cat([s["obs"], s["next_obs"]], dim=1) for s in sets]), torch.cat([s["actions"] for s in sets])

    def _end_of_epoch(self) -> None:
        """Write this epoch's gradient-norm statistics (and, after the reference epoch, the clip threshold)."""
        norms = torch.stack(self._norms).double().cpu().numpy() if self._norms else np.zeros(0)
        epoch = self._epoch + 1
        if epoch == self.settings["first_adversarial_epoch"] and len(norms):
            threshold = float(np.percentile(norms, self.settings["clip_percentile"]))
            with atomic_path(self._clip_path(), suffix=".npz") as tmp:
                np.savez(tmp, norms=norms, threshold=threshold, percentile=self.settings["clip_percentile"], epoch=epoch)
        write_json({
            "epoch": epoch, "n_steps": len(norms), "n_adversarial": self.n_adversarial,
            "clip_threshold": self.threshold if self.sets else None,
            "n_clipped": int(self._clipped) if self.sets else 0,
            "grad_norm_median": float(np.median(norms)) if len(norms) else None,
            "grad_norm_p99": float(np.percentile(norms, 99)) if len(norms) else None,
            "grad_norm_max": float(norms.max()) if len(norms) else None,
        }, self.examples_dir / f"epoch-{epoch:02d}.json")

    # --- evaluation -----------------------------------------------------------------

    def loss(self, output: torch.Tensor, y, reduction: str = "mean") -> torch.Tensor:
        """The weighted MSE of the taken action's output (:meth:`StreamedTransitions.loss`)."""
        return self.base.loss(output, y, reduction)

    def evaluate_split(self, model: nn.Module, split: str) -> tuple[float, None]:
        """MSE on the dataset's own transitions of ``split`` (adversarial examples excluded)."""
        return self.base.evaluate_split(model, split)

    def estimate_split(self, model: nn.Module, split: str) -> tuple[float, None]:
        """The per-epoch estimate of :meth:`evaluate_split` (:meth:`StreamedTransitions.estimate_split`)."""
        return self.base.estimate_split(model, split)


def adversarial_settings(settings: dict | None = None) -> dict:
    """:data:`ADVERSARIAL_DEFAULTS` updated with ``settings`` (unknown keys refused)."""
    from nnstructure.train.config import TrainConfig

    full = {**ADVERSARIAL_DEFAULTS, **without_unset(settings or {})}
    unknown = set(full) - set(ADVERSARIAL_DEFAULTS) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown adversarial-training settings {sorted(unknown)}; known: {sorted(ADVERSARIAL_DEFAULTS)} "
                         "and the TrainConfig fields")
    if not 1 <= int(full["first_adversarial_epoch"]) <= int(full["epochs"]):
        raise ValueError(f"first_adversarial_epoch must be in 1..epochs ({full['epochs']}), got {full['first_adversarial_epoch']}")
    if not 0 < float(full["adversarial_fraction"]) <= 1:
        raise ValueError(f"adversarial_fraction must be in (0, 1] (thesis text 0.001, original code 0.04), got {full['adversarial_fraction']}")
    if full["candidate_pool"] not in CANDIDATE_POOLS:
        raise ValueError(f"candidate_pool must be one of {list(CANDIDATE_POOLS)}, got {full['candidate_pool']!r}")
    if not 0 < float(full["clip_percentile"]) <= 100:
        raise ValueError(f"clip_percentile must be in (0, 100], got {full['clip_percentile']}")
    if int(full["prune_epochs"]) != 0:
        raise ValueError("adversarial training does not prune; set prune_epochs to 0")
    return full


def adversarial_train(dataset_path: str | os.PathLike, settings: dict | None, seed: int, out: str | os.PathLike,
                      examples_dir: str | os.PathLike, log: str | os.PathLike | None = None,
                      device: str | torch.device | None = None, progress: bool = True, epoch_callback=None) -> dict:
    """Adversarially train a reward net on a transition dataset; write checkpoint ``out`` and the example sets.

    After training, a final set is made with the trained network (the thesis's
    "examples generated at the end"). Returns :func:`adversarial_summary` of the run.
    """
    from nnstructure.reward.nets import mean_guess_mse
    from nnstructure.reward.transitions import TransitionDataset
    from nnstructure.train.config import TrainConfig
    from nnstructure.train.loop import train_network

    full = adversarial_settings(settings)
    work = examples_work_dir(examples_dir, out, {"settings": full, "seed": int(seed)})
    dataset = TransitionDataset(dataset_path, terminal_frame=full["terminal_frame"])
    c, h, w = dataset.frame_shape
    spec = reward_net_spec([2 * c, h, w], N_PROCGEN_ACTIONS, width_multiplier=full["width_multiplier"],
                           channels=full["channels"], init=full["init"])
    config = TrainConfig.from_dict({k: v for k, v in full.items() if k not in MODEL_KEYS + ADVERSARIAL_KEYS})
    data = AdversarialTrainingData(dataset, work, full, seed)
    extra = {"dataset_path": str(Path(dataset_path)), "adversarial_settings": full,
             "adversarial_variant": fraction_variant(full["adversarial_fraction"]), "examples_dir": str(examples_dir),
             "n_train_base": dataset.n("train"), "n_test": dataset.n("test"),
             "mean_guess_test_mse": mean_guess_mse(dataset)["test"],  # as a reward net's: has the net learnt?
             "loss": "mse of the taken action's output; adversarial examples labelled 0"}
    from nnstructure.checkpoint import load_checkpoint
    from nnstructure.device import select_device

    device = device if isinstance(device, torch.device) else select_device(device)
    train_network(data, spec, config, seed, out, log=log, device=device, extra_metadata=extra,
                  epoch_callback=epoch_callback, progress=progress)
    model = load_checkpoint(out, map_location=device).model
    final = examples_path(work, full["epochs"])
    if not final.exists():
        made = make_adversarial_examples(model, dataset, n_examples(full["adversarial_fraction"], dataset.n("train")),
                                         full["optimization_steps"], full["optimization_lr"], full["max_shift"],
                                         derive_seed(seed, "adversarial", full["epochs"]), full["optimization_batch"],
                                         precision=full["precision"], candidates=data.candidates(full["epochs"]))
        save_examples(final, made, full["epochs"])
    (work / "run.json").unlink()
    if Path(examples_dir).exists():
        shutil.rmtree(examples_dir)
    os.replace(work, examples_dir)
    return adversarial_summary(out, examples_dir)


def examples_work_dir(examples_dir: str | os.PathLike, out: str | os.PathLike, run: dict) -> Path:
    """The folder ``<examples_dir>.partial`` where a run keeps its example sets until it is complete.

    It belongs to the resume state ``<out>.partial`` and to the run ``run`` (settings
    and seed; stored in it as ``run.json`` until the run completes): without that state, or made by another
    run, it is emptied, so no set of an earlier run is ever reused. A folder left by an
    older layout (the sets written straight into ``examples_dir`` beside a resume state)
    is taken over.
    """
    work = Path(str(examples_dir) + ".partial")
    resumable = Path(str(out) + ".partial").exists()
    if resumable and not work.exists() and Path(examples_dir).is_dir():
        os.replace(examples_dir, work)
    record = work / "run.json"
    same_run = record.exists() and json.loads(record.read_text()) == json.loads(json.dumps(run, default=json_default))
    legacy = work.exists() and not record.exists() and resumable
    if work.exists() and not (resumable and (same_run or legacy)):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if not record.exists():
        write_json(run, record)
    return work


@torch.no_grad()
def example_losses(model: nn.Module, examples: dict, batch_size: int = 256) -> np.ndarray:
    """Squared error of each example's taken-action prediction against its label 0."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    for k in range(0, len(examples["actions"]), batch_size):
        x = torch.cat([examples["obs"][k:k + batch_size], examples["next_obs"][k:k + batch_size]], dim=1).to(device)
        out.append(taken_action_output(model(x), examples["actions"][k:k + batch_size].to(device)).double().cpu() ** 2)
    return torch.cat(out).numpy()


def adversarial_summary(checkpoint: str | os.PathLike, examples_dir: str | os.PathLike) -> dict:
    """Section 5.8's numbers for a finished run: train/test loss, loss on the first and last example sets trained on,
    MSE and mean predicted reward of the set made at the end, settings and variant."""
    from nnstructure.checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    meta = ckpt.metadata
    full = meta["adversarial_settings"]
    gens = generation_epochs(int(full["epochs"]), int(full["first_adversarial_epoch"]))
    sets = {g: load_examples(examples_path(examples_dir, g)) for g in [*gens, int(full["epochs"])]}
    first, last, end = (example_losses(ckpt.model, sets[g]) if g in sets else None
                        for g in (gens[0] if gens else None, gens[-1] if gens else None, int(full["epochs"])))
    history = meta.get("metrics") or []
    clip = np.load(Path(examples_dir) / "clip-reference.npz") if (Path(examples_dir) / "clip-reference.npz").exists() else None
    end_pred = torch.as_tensor(sets[int(full["epochs"])]["predicted_reward"]).double().numpy()
    return {
        "network": Path(checkpoint).stem, "checkpoint": str(checkpoint), "examples_dir": str(examples_dir),
        "epochs": int(full["epochs"]), "batch_size": int(full["batch_size"]),
        "first_adversarial_epoch": int(full["first_adversarial_epoch"]),
        "adversarial_fraction": float(full["adversarial_fraction"]), "variant": meta.get("adversarial_variant"),
        "examples_per_set": int(len(sets[int(full["epochs"])]["actions"])), "n_sets_trained": len(gens),
        "optimization_steps": int(full["optimization_steps"]), "clip_percentile": float(full["clip_percentile"]),
        "candidate_pool": str(full.get("candidate_pool", "all")),  # absent from runs made before it existed
        "clip_threshold": float(clip["threshold"]) if clip is not None else float("nan"),
        "width_multiplier": float(full["width_multiplier"]), "channels": channels_text(meta["spec"]),
        "seed": int(meta.get("seed", 0)),
        "n_train": int(meta["n_train_base"]),
        "train_loss": float(history[-1]["train_loss"]) if history else float("nan"),
        "train_loss_eval": float(meta.get("train_loss", float("nan"))), "test_loss": float(meta.get("test_loss", float("nan"))),
        "first_adversarial_loss": float(first.mean()) if first is not None else float("nan"),
        "final_adversarial_loss": float(last.mean()) if last is not None else float("nan"),
        "end_examples_mse": float(end.mean()),
        "end_examples_reward": float(end_pred.mean()),
        "end_examples_source_reward": float(np.mean(sets[int(full["epochs"])]["source_predicted_reward"])),
        "mean_guess_test_mse": mean_guess_test_mse(meta),
    }


def mean_guess_test_mse(metadata: dict) -> float:
    """The test MSE of guessing the mean training reward on the dataset an adversarial net was trained on, from
    its checkpoint's ``metadata`` (recorded at training time, as for reward nets): whether the net has learnt is
    judged against it. A checkpoint from before it was recorded gets it from its dataset, NaN when the dataset is
    no longer where the checkpoint says."""
    from nnstructure.reward.nets import mean_guess_mse
    from nnstructure.reward.transitions import TABLE_FILE, TransitionDataset

    if "mean_guess_test_mse" in metadata:
        return float(metadata["mean_guess_test_mse"])
    path = Path(metadata["dataset_path"])
    if not (path / TABLE_FILE).exists():
        return float("nan")
    return mean_guess_mse(TransitionDataset(path))["test"]


def adversarial_epochs_table(examples_dir: str | os.PathLike, log: str | os.PathLike | None = None):
    """One row per epoch: the loop's metrics (when ``log`` is given) with the gradient-norm and clipping statistics."""
    import pandas as pd

    rows = []
    for path in sorted(Path(examples_dir).glob("epoch-*.json")):
        rows.append(json.loads(path.read_text()))
    table = pd.DataFrame(rows)
    if log is not None and Path(log).exists() and len(table):
        from nnstructure.io import read_parquet

        metrics = read_parquet(log)[["epoch", "train_loss", "test_loss", "seconds"]]
        table = table.merge(metrics, on="epoch", how="left")
    return table
