"""A transition dataset as the training loop reads it: streamed batches, optional zero-reward discard, the loss.

:class:`StreamedTransitions` implements the loop's data interface (``n_train``,
``train_batches``, ``loss``, ``evaluate_split``; see :mod:`nnstructure.train.loop`)
for a :class:`~nnstructure.reward.transitions.TransitionDataset`: inputs are
``[obs, next_obs] / 255`` in channels-last memory (oneDNN's and cuDNN's fast
convolution layout), targets ``(action, reward, weight)``, and the loss is the
(weighted) MSE between the output of the action taken and the reward (thesis 5.3).

**Zero-reward discard** (``zero_reward_discard`` = d > 0). Rewarded transitions
are rare (1.5% of CoinRun's), so an epoch over every transition is mostly spent
on zeros. The thesis trained its Heist net on a dataset with 95% of the
zero-reward transitions discarded (section 5.3). Here the discard happens when
training: each epoch keeps every rewarded training transition and a fresh,
seeded share 1 - d of the zero-reward ones, so over epochs the net still sees
all of them. With ``discard_weighting`` (the default) each kept zero-reward
transition weighs 1 / (1 - d) in the loss, which makes the batch loss an
unbiased estimate of the MSE over the whole training split: the net learns the
real base rate instead of the discarded set's. Without it the net is fitted to
the discarded distribution (the thesis's Heist recipe; its predictions are then
biased upwards on the full test split). ``weighting_from_epoch`` k > 1 trains
the first k - 1 epochs unweighted (the rewarded transitions dominate the
gradient, so the net learns to tell them apart sooner) and weights from epoch k
on (which recalibrates it to the real base rate).

**Evaluation.** The checkpoint's test loss uses every test transition, whatever
the discard; its training-split loss a fixed seeded sample of at most
:data:`TRAIN_EVAL_MAX` training transitions. The per-epoch test loss of the
learning curve (:meth:`StreamedTransitions.estimate_split`) is, on large test
splits, an unbiased stratified estimate of the same number: every rewarded test
transition plus a fixed seeded sample of :data:`EPOCH_EVAL_ZEROS` zero-reward
ones, weighted by their sampling fraction (exact when the split is smaller).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: Largest number of training transitions whose loss the checkpoint reports (a fixed seeded sample).
TRAIN_EVAL_MAX = 10_000
#: Zero-reward test transitions in the per-epoch estimate of the test loss (all rewarded ones are used). At 4,000
#: the estimate was about a quarter of `make run`'s reward-net time (40 passes over its whole 3,890-transition test
#: split); the checkpoint's loss is always exact, over the whole split.
EPOCH_EVAL_ZEROS = 1_000
EVAL_BATCH = 256


class StreamedTransitions:
    """The training loop's view of a transition dataset (see the module docstring)."""

    streamed = True
    is_image = False
    classification = False
    channels_last = True
    task = "reward-regression"

    def __init__(self, dataset, device: torch.device, zero_reward_discard: float = 0.0, discard_weighting: bool = True,
                 weighting_from_epoch: int = 1):
        if not 0.0 <= zero_reward_discard < 1.0:
            raise ValueError(f"zero_reward_discard must be in [0, 1), got {zero_reward_discard}")
        self.dataset = dataset
        self.name = dataset.name
        self.device = device
        self.discard = float(zero_reward_discard)
        self.weighting = bool(discard_weighting)
        if int(weighting_from_epoch) < 1:
            raise ValueError(f"weighting_from_epoch counts epochs from 1, got {weighting_from_epoch}")
        self.weighting_from = int(weighting_from_epoch)
        self._epoch = 0  # 0-indexed epoch being trained (set by the loop's before_epoch hook)
        train = dataset.mask("train")
        if not train.any():
            raise ValueError(f"transition dataset {dataset.path} has no training transitions; regenerate it with more episodes")
        self._train = train
        self._zero = dataset.column("reward") == 0
        n_rewarded = int((train & ~self._zero).sum())
        n_zero = int((train & self._zero).sum())
        # The expected number of transitions of an epoch (exact without discard).
        self.n_train = n_rewarded + int(round(n_zero * (1.0 - self.discard)))
        self.zero_weight = 1.0 / (1.0 - self.discard) if self.weighting else 1.0
        #: What of the sampling the resume state must match (None: every transition, every epoch).
        self.sampling = ({"zero_reward_discard": self.discard, "discard_weighting": self.weighting,
                          "weighting_from_epoch": self.weighting_from} if self.discard else None)
        from nnstructure.reward.terminal_frames import AS_STORED

        if dataset.terminal_frame != AS_STORED:  # other inputs: a resume state of the stored frames must not be continued
            self.sampling = {**(self.sampling or {}), "terminal_frame": dataset.terminal_frame}

    def check_compatible(self, spec: dict, config) -> None:
        from nnstructure.models.reward import N_PROCGEN_ACTIONS

        channels, height, width = self.dataset.frame_shape
        shape = [2 * channels, height, width]
        if spec["input_shape"] != shape:
            raise ValueError(f"model input shape {spec['input_shape']} differs from the transitions' [obs, next_obs] shape {shape}")
        if spec["n_outputs"] != N_PROCGEN_ACTIONS:
            raise ValueError(f"a procgen reward net needs {N_PROCGEN_ACTIONS} outputs (one per action), got {spec['n_outputs']}")
        if config.augment:
            raise ValueError("augmentation is not implemented for transition datasets; drop --augment")

    def epoch_mask(self, seed: int) -> np.ndarray:
        """The training transitions of one epoch: every rewarded one, a seeded share 1 - d of the zero-reward ones."""
        if self.discard == 0.0:
            return self._train
        keep = np.random.default_rng(seed).random(len(self._train)) >= self.discard
        return self._train & (~self._zero | keep)

    def _batches(self, batch_size: int, shuffle: bool, seed: int, where: np.ndarray, weighted: bool,
                 zero_weight: float | None = None):
        from nnstructure.models.reward import transition_inputs

        for batch in self.dataset.batches(None, batch_size, shuffle=shuffle, seed=seed, where=where):
            x = transition_inputs(batch["obs"].to(self.device, non_blocking=True), batch["next_obs"].to(self.device, non_blocking=True))
            x = x.contiguous(memory_format=torch.channels_last)
            reward = batch["reward"].to(self.device)
            weight = torch.ones_like(reward)
            w0 = self.zero_weight if zero_weight is None else zero_weight
            if weighted and w0 != 1.0:
                weight = torch.where(reward == 0, torch.full_like(reward, w0), weight)
            yield x, (batch["action"].to(self.device), reward, weight)

    def before_epoch(self, model: nn.Module, epoch: int) -> None:
        """The loop's hook before 0-indexed ``epoch``: the weighting starts at epoch ``weighting_from_epoch``."""
        self._epoch = int(epoch)

    def epoch_zero_weight(self) -> float:
        """The loss weight of a kept zero-reward transition in the epoch being trained."""
        return self.zero_weight if self._epoch + 1 >= self.weighting_from else 1.0

    def train_batches(self, batch_size: int, shuffle: bool, generator: torch.Generator):
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        return self._batches(batch_size, shuffle, seed, self.epoch_mask(seed), weighted=True,
                             zero_weight=self.epoch_zero_weight())

    def loss(self, output: torch.Tensor, y, reduction: str = "mean") -> torch.Tensor:
        """The weighted MSE of the taken action's output: sum(w * err^2) / sum(w) (``"sum"``: sum(w * err^2))."""
        from nnstructure.models.reward import taken_action_output

        action, reward, weight = y
        err = (taken_action_output(output.float(), action) - reward) ** 2
        total = (weight * err).sum()
        return total if reduction == "sum" else total / weight.sum()

    def _eval_mask(self, split: str) -> np.ndarray:
        mask = self.dataset.mask(split)
        if split == "train" and mask.sum() > TRAIN_EVAL_MAX:
            rows = np.flatnonzero(mask)
            chosen = np.random.default_rng(0).choice(rows, TRAIN_EVAL_MAX, replace=False)
            mask = np.zeros_like(mask)
            mask[chosen] = True
        return mask

    @torch.no_grad()
    def _mse(self, model: nn.Module, mask: np.ndarray, zero_weight: float = 1.0) -> float:
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        weight = torch.zeros((), dtype=torch.float64, device=self.device)
        for x, y in self._batches(EVAL_BATCH, False, 0, mask, weighted=True, zero_weight=zero_weight):
            total += self.loss(model(x), y, reduction="sum").double()
            weight += y[2].double().sum()
        return float(total) / max(float(weight), 1.0)

    def evaluate_split(self, model: nn.Module, split: str) -> tuple[float, None]:
        """MSE over ``split`` (every test transition; at most :data:`TRAIN_EVAL_MAX` training ones)."""
        return self._mse(model, self._eval_mask(split)), None

    def estimate_split(self, model: nn.Module, split: str) -> tuple[float, None]:
        """The per-epoch estimate of :meth:`evaluate_split`: every rewarded transition of ``split`` and a fixed
        seeded sample of :data:`EPOCH_EVAL_ZEROS` zero-reward ones, weighted up to all of them."""
        mask = self.dataset.mask(split)
        zeros = np.flatnonzero(mask & self._zero)
        if len(zeros) <= EPOCH_EVAL_ZEROS:
            return self.evaluate_split(model, split)
        dropped = np.random.default_rng(1).choice(zeros, len(zeros) - EPOCH_EVAL_ZEROS, replace=False)
        mask = mask.copy()
        mask[dropped] = False
        return self._mse(model, mask, zero_weight=len(zeros) / EPOCH_EVAL_ZEROS), None


class TransitionTraining:
    """A transition dataset with its training-time sampling, for :func:`nnstructure.train.loop.train_network`."""

    def __init__(self, dataset, zero_reward_discard: float = 0.0, discard_weighting: bool = True,
                 weighting_from_epoch: int = 1):
        self.dataset = dataset
        self.name = dataset.name
        self.zero_reward_discard = float(zero_reward_discard)
        self.discard_weighting = bool(discard_weighting)
        self.weighting_from_epoch = int(weighting_from_epoch)

    def training_data(self, device: torch.device) -> StreamedTransitions:
        return StreamedTransitions(self.dataset, device, self.zero_reward_discard, self.discard_weighting,
                                   self.weighting_from_epoch)

