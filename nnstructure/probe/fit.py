"""Linear probes on pooled features: Adam (as the thesis trained them) and the exact least-squares solution.

A probe is ``y ~ x W + b`` with MSE (mean over rows and target components).
The thesis trained it with Adam (default settings, batch 128) for a handful of
epochs, "depending on how many seemed necessary to reach convergence", and
noted probes that "still did not seem to have converged". On cached features
the same problem is ordinary least squares, so :func:`fit_closed_form_probe`
solves it exactly (on standardised features, with a tiny ridge
``ridge * trace(G) / d`` on their Gram matrix ``G``; dead, constant ReLU
channels get weight 0). :func:`mean_guess_loss` is the thesis's "Mean" row.

Pooled ReLU features differ in scale by orders of magnitude (and targets such
as the squared distance are in the thousands), so Adam with its default
learning rate on raw features moves far too slowly to converge in a handful of
epochs. :func:`fit_adam_probe` therefore trains, by default, on *standardised*
features and targets (z-scores with the training rows' mean and s.d.; constant
columns are dropped) and maps the weights back, so every loss is in the
target's own units. :func:`fit_converged_adam_probe` runs it until it reaches
the closed form: a short learning-rate sweep, the thesis's epochs at the
chosen rate, then more epochs (dividing the learning rate by 10 when the
training loss stops falling) until the training loss is within ``train_tol``
of the exact probe's or ``max_epochs`` is reached. Stopping looks only at training losses;
whether the result is converged is judged on the test loss
(:func:`adam_converged`: within 10% of the closed form's), and a probe that is
not is reported as such, never as a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from nnstructure.probe.schedule import CONVERGED_RATIO, LR_SWEEP, MAX_EPOCHS, TRAIN_TOL

CHUNK = 65_536
#: A feature whose training s.d. is at most this times its mean's magnitude (float32 resolution) is constant.
CONSTANT_REL_SD = 4 * float(np.finfo(np.float32).eps)


@dataclass
class ProbeFit:
    """A fitted linear probe: weights ``[C, T]``, bias ``[T]`` and its losses (the Adam fields describe the run)."""

    weight: np.ndarray
    bias: np.ndarray
    train_loss: float
    test_loss: float
    test_loss_by_epoch: list[float] = field(default_factory=list)
    train_loss_by_epoch: list[float] = field(default_factory=list)
    epochs: int = 0
    lr: float = float("nan")
    final_lr: float = float("nan")
    standardized: bool = False
    sweep: dict[float, float] = field(default_factory=dict)
    stop: str = ""


def _as_2d(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    return y[:, None] if y.ndim == 1 else y


def linear_mse(x: np.ndarray, y: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> float:
    """Mean squared error of ``x @ weight + bias`` against ``y`` (mean over rows and components), in float64."""
    y = _as_2d(y)
    if len(x) == 0:
        return float("nan")
    total = 0.0
    for start in range(0, len(x), CHUNK):
        pred = np.asarray(x[start:start + CHUNK], dtype=np.float64) @ weight + bias
        total += float(np.sum((pred - y[start:start + CHUNK]) ** 2))
    return total / (len(x) * y.shape[1])


def mean_guess_loss(y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Test MSE of always predicting the training mean (the thesis's "Mean" row)."""
    y_train, y_test = _as_2d(y_train).astype(np.float64), _as_2d(y_test).astype(np.float64)
    return float(np.mean((y_test - y_train.mean(axis=0)) ** 2))


def fit_closed_form_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                          ridge: float = 1e-8) -> ProbeFit:
    """The least-squares probe, solved exactly in float64 (chunked: ``x`` may be a memory map).

    It is solved on standardised features (:class:`Standardization`), so the
    tiny ridge weighs every feature alike whatever its scale, and constant
    features (dead ReLU channels) get weight 0.
    """
    y_train = _as_2d(y_train).astype(np.float64)
    n, d = x_train.shape
    if n < 2:
        raise ValueError(f"a probe needs at least 2 training rows, got {n}")
    scaling = Standardization.of(x_train, y_train)
    mean_y = y_train.mean(axis=0)
    gram = np.zeros((d, d))
    cross = np.zeros((d, y_train.shape[1]))
    for start in range(0, n, CHUNK):
        xs = (np.asarray(x_train[start:start + CHUNK], dtype=np.float64) - scaling.x_mean) * scaling.x_inv_scale
        gram += xs.T @ xs
        cross += xs.T @ (y_train[start:start + CHUNK] - mean_y)
    scale = np.trace(gram) / d
    lam = ridge * (scale if scale > 0 else 1.0)
    import scipy.linalg

    try:
        weight = scipy.linalg.solve(gram + lam * np.eye(d), cross, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        weight = scipy.linalg.lstsq(gram + lam * np.eye(d), cross)[0]
    weight = scaling.x_inv_scale[:, None] * weight
    bias = mean_y - scaling.x_mean @ weight
    return ProbeFit(weight=weight, bias=bias, train_loss=linear_mse(x_train, y_train, weight, bias),
                    test_loss=linear_mse(x_test, y_test, weight, bias))


def adam_to_closed_form(adam_test_loss: float, closed_form_test_loss: float) -> float:
    """Adam's test loss over the exact probe's (NaN when the closed form's loss is not positive)."""
    if not (np.isfinite(adam_test_loss) and np.isfinite(closed_form_test_loss)) or closed_form_test_loss <= 0:
        return float("nan")
    return float(adam_test_loss / closed_form_test_loss)


def adam_converged(adam_test_loss: float, closed_form_test_loss: float, ratio: float = CONVERGED_RATIO) -> bool:
    """Whether the Adam probe ended within ``ratio`` of the closed form's test loss (lower counts as converged)."""
    r = adam_to_closed_form(adam_test_loss, closed_form_test_loss)
    return bool(np.isfinite(r) and r <= ratio)


def _column_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and s.d. of each column of ``x`` in float64, chunked (two passes: exact for large offsets)."""
    n = len(x)
    mean = np.zeros(x.shape[1])
    for start in range(0, n, CHUNK):
        mean += np.asarray(x[start:start + CHUNK], dtype=np.float64).sum(axis=0)
    mean /= n
    sq = np.zeros(x.shape[1])
    for start in range(0, n, CHUNK):
        sq += ((np.asarray(x[start:start + CHUNK], dtype=np.float64) - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(sq / n)


@dataclass(frozen=True)
class Standardization:
    """z-scores of features and targets from the training rows; constant features get weight 0.

    ``x_inv_scale`` is ``1 / s.d.`` per feature, 0 for a constant one (s.d. 0 or
    below float32 resolution of its mean); ``y_scale`` is each target
    component's s.d. (1 when constant).
    """

    x_mean: np.ndarray
    x_inv_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> "Standardization":
        x_mean, x_sd = _column_moments(x)
        y_mean, y_sd = _column_moments(_as_2d(y))
        varies = x_sd > CONSTANT_REL_SD * np.abs(x_mean)
        x_inv = np.zeros_like(x_sd)
        x_inv[varies & (x_sd > 0)] = 1.0 / x_sd[varies & (x_sd > 0)]
        return cls(x_mean, x_inv, y_mean, np.where(y_sd > 0, y_sd, 1.0))

    @classmethod
    def identity(cls, n_features: int, n_targets: int) -> "Standardization":
        return cls(np.zeros(n_features), np.ones(n_features), np.zeros(n_targets), np.ones(n_targets))

    def features(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The standardised features as float32, written into ``out`` (which may be ``x`` itself) when given."""
        out = np.empty(x.shape, dtype=np.float32) if out is None else out
        for start in range(0, len(x), CHUNK):
            chunk = np.asarray(x[start:start + CHUNK], dtype=np.float64)
            out[start:start + CHUNK] = (chunk - self.x_mean) * self.x_inv_scale
        return out

    def targets(self, y: np.ndarray) -> np.ndarray:
        return ((_as_2d(y).astype(np.float64) - self.y_mean) / self.y_scale).astype(np.float32)

    def to_original(self, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights on standardised data as weights on the original features and targets."""
        w = self.x_inv_scale[:, None] * weight * self.y_scale
        return w, self.y_mean + self.y_scale * bias - self.x_mean @ w


@dataclass(frozen=True)
class ProbeData:
    """Training rows as float32 tensors on the fitting device, standardised by ``scaling`` (shared by Adam runs)."""

    x: torch.Tensor
    y: torch.Tensor
    scaling: Standardization
    standardized: bool

    @classmethod
    def of(cls, x_train: np.ndarray, y_train: np.ndarray, standardize: bool = True,
           device: torch.device | str = "cpu", overwrite: bool = False) -> "ProbeData":
        """``overwrite`` standardises ``x_train`` in place when it is a writeable C-ordered float32 array
        (no copy of the largest array; the caller must not use ``x_train`` afterwards)."""
        y_train = _as_2d(y_train)
        if len(x_train) < 1:
            raise ValueError("a probe needs training rows")
        scaling = (Standardization.of(x_train, y_train) if standardize
                   else Standardization.identity(x_train.shape[1], y_train.shape[1]))
        in_place = (overwrite and isinstance(x_train, np.ndarray) and x_train.dtype == np.float32
                    and x_train.flags.c_contiguous and x_train.flags.writeable)
        x = scaling.features(x_train, out=x_train if in_place else None)
        device = torch.device(device)
        return cls(torch.as_tensor(x, device=device), torch.as_tensor(scaling.targets(y_train), device=device),
                   scaling, bool(standardize))


class AdamProbeRun:
    """One Adam run of a linear probe on MSE, an epoch at a time (reshuffled every epoch).

    On raw data the layer starts as ``torch.nn.Linear`` does (uniform in
    +-1/sqrt(C)); on standardised data it starts at zero (the mean guess).
    Either way from a generator seeded with ``seed``, which also orders the
    batches. The MSE gradient of a linear map is written out and
    :func:`adam_step_` applies ``torch.optim.Adam``'s update (the same
    arithmetic, tested equal), about 4x faster than autograd plus the
    optimiser object on these tiny problems.
    """

    def __init__(self, data: "ProbeData", lr: float = 1e-3, batch_size: int = 128, seed: int = 0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.device, self.scaling, self.standardized = data.x.device, data.scaling, data.standardized
        self.lr, self.batch_size, self.betas, self.eps = float(lr), int(batch_size), betas, eps
        self.x, self.y = data.x, data.y
        n, d = self.x.shape
        t = self.y.shape[1]
        self.gen = torch.Generator().manual_seed(int(seed))
        if self.standardized:
            weight, bias = torch.zeros(d, t), torch.zeros(t)
        else:
            bound = 1.0 / math.sqrt(d)
            weight = (torch.rand(d, t, generator=self.gen) * 2 - 1) * bound
            bias = (torch.rand(t, generator=self.gen) * 2 - 1) * bound
        self.weight, self.bias = weight.to(self.device), bias.to(self.device)
        self.state = [(self.weight, torch.zeros_like(self.weight), torch.zeros_like(self.weight)),
                      (self.bias, torch.zeros_like(self.bias), torch.zeros_like(self.bias))]
        self.step = 0
        self.epochs = 0

    def run_epoch(self) -> None:
        n, t = self.x.shape[0], self.y.shape[1]
        order = torch.randperm(n, generator=self.gen).to(self.device)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            xb = self.x[idx]
            # d/dpred of mean((pred - y)^2) over the batch's B x T entries
            residual = torch.addmm(self.bias, xb, self.weight).sub_(self.y[idx]).mul_(2.0 / (len(idx) * t))
            self.step += 1
            adam_step_(self.state, (xb.T @ residual, residual.sum(dim=0)), self.step, self.lr, self.betas, self.eps)
        self.epochs += 1

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The probe's weight and bias on the original features and targets (float64)."""
        return self.scaling.to_original(self.weight.double().cpu().numpy(), self.bias.double().cpu().numpy())

    @torch.no_grad()
    def train_loss(self) -> float:
        """MSE on the training rows in the target's units (from the standardised tensors, accumulated in float64)."""
        per_component = torch.zeros(self.y.shape[1], dtype=torch.float64, device=self.device)
        for start in range(0, len(self.x), CHUNK):
            residual = torch.addmm(self.bias, self.x[start:start + CHUNK], self.weight) - self.y[start:start + CHUNK]
            per_component += residual.double().pow(2).sum(dim=0)
        scale_sq = torch.as_tensor(self.scaling.y_scale ** 2, device=self.device)
        return float((per_component * scale_sq).mean() / len(self.x))


def _fit_of(run: AdamProbeRun, test_history: list[float], train_history: list[float], **info) -> ProbeFit:
    w, b = run.weights()
    return ProbeFit(weight=w, bias=b, train_loss=run.train_loss(), test_loss=test_history[-1],
                    test_loss_by_epoch=list(test_history), train_loss_by_epoch=list(train_history), epochs=run.epochs,
                    final_lr=run.lr, standardized=run.standardized, **info)


def fit_adam_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   epochs: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                   device: torch.device | str = "cpu", betas: tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8, standardize: bool = True) -> ProbeFit:
    """The thesis's probe: a linear layer trained with Adam on MSE for exactly ``epochs`` epochs.

    ``standardize`` trains on z-scored features and targets (see
    :class:`Standardization`); ``False`` is the thesis's raw setting. The test
    loss (original units) is recorded after every epoch.
    """
    if epochs < 1:
        raise ValueError(f"a probe needs at least one epoch, got {epochs}")
    y_train, y_test = _as_2d(y_train), _as_2d(y_test)
    run = AdamProbeRun(ProbeData.of(x_train, y_train, standardize, device), lr, batch_size, seed, betas, eps)
    record = _EpochRecorder(x_test, y_test)
    for _ in range(epochs):
        record(run)
    return _fit_of(run, record.tests, record.trains, lr=float(lr), stop="epochs")


def fit_converged_adam_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                             closed_form_train_loss: float, epochs: int, max_epochs: int = MAX_EPOCHS, batch_size: int = 128,
                             lr: float = 1e-3, lr_sweep: tuple[float, ...] = LR_SWEEP, sweep_epochs: int = 1,
                             train_tol: float = TRAIN_TOL, patience: int = 3, plateau_steps: int = 1000,
                             lr_floor: float = 0.01, seed: int = 0, device: torch.device | str = "cpu",
                             standardize: bool = True, overwrite: bool = False) -> ProbeFit:
    """An Adam probe trained until its training loss reaches the exact probe's (``closed_form_train_loss``).

    1. Sweep: one run per learning rate of ``lr_sweep`` (just ``lr`` when empty),
       ``sweep_epochs`` epochs each, same seed; the lowest training loss wins and
       that run continues (its sweep epochs count).
    2. ``epochs`` epochs (the thesis's caption) at that rate: with
       ``max_epochs <= epochs``, ``lr_sweep=()`` and ``standardize=False`` this
       is exactly the thesis's probe.
    3. Then more epochs until the training loss is at most ``(1 + train_tol)``
       times the closed form's, or ``max_epochs`` epochs have run. When the
       training loss has not fallen by 0.1% for ``patience`` epochs (and at
       least ``plateau_steps`` Adam steps: small datasets have few steps per
       epoch), the learning rate is divided by 10, down to ``lr_floor`` times
       the chosen one; a plateau at the floor ends the run.

    ``overwrite`` lets it standardise ``x_train`` in place (see :meth:`ProbeData.of`).
    ``stop`` says why it ended: ``closed_form`` (the training loss reached the
    closed form's), ``plateau``, ``max_epochs``, or ``epochs`` (a fixed number
    of epochs was asked for and the closed form was not reached).
    Only training losses steer the run; the test loss is recorded per epoch.
    """
    if epochs < 1:
        raise ValueError(f"a probe needs at least one epoch, got {epochs}")
    y_train, y_test = _as_2d(y_train), _as_2d(y_test)
    max_epochs = max(int(max_epochs), int(epochs))
    n_train = len(x_train)
    data = ProbeData.of(x_train, y_train, standardize, device, overwrite)
    del x_train  # possibly standardised in place: only ``data`` from here on
    candidates = tuple(float(v) for v in lr_sweep) or (float(lr),)
    record = _EpochRecorder(x_test, y_test)
    sweep = {}
    if len(candidates) > 1:
        sweep = _lr_sweep(data, candidates, min(sweep_epochs, max_epochs), batch_size, seed, x_test, y_test)
        chosen = min(candidates, key=lambda c: (sweep[c][2] if np.isfinite(sweep[c][2]) else math.inf, candidates.index(c)))
        run, record = sweep[chosen][0], sweep[chosen][1]
    else:
        chosen = candidates[0]
        run = AdamProbeRun(data, chosen, batch_size, seed)
    target = closed_form_train_loss * (1 + train_tol)
    patience = max(int(patience), math.ceil(plateau_steps / math.ceil(n_train / batch_size)))
    plateau = _Plateau(patience, min(record.trains, default=math.inf))
    stop = "epochs" if max_epochs == epochs else "max_epochs"
    while run.epochs < max_epochs:
        if run.epochs >= epochs and record.trains and record.trains[-1] <= target:
            stop = "closed_form"
            break
        if run.epochs >= epochs and plateau.stalled():
            if run.lr <= chosen * lr_floor * (1 + 1e-9):
                stop = "plateau"
                break
            run.lr /= 10
            plateau.reset()
        record(run)
        plateau.update(record.trains[-1])
    if stop != "closed_form" and record.trains and record.trains[-1] <= target:
        stop = "closed_form"
    return _fit_of(run, record.tests, record.trains, lr=chosen,
                   sweep={c: v[2] for c, v in sweep.items()}, stop=stop)


class _EpochRecorder:
    """Runs one epoch of an Adam run and records its test and training losses (original units)."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray):
        self.x_test, self.y_test = x_test, y_test
        self.tests: list[float] = []
        self.trains: list[float] = []

    def __call__(self, run: AdamProbeRun) -> None:
        run.run_epoch()
        self.tests.append(linear_mse(self.x_test, self.y_test, *run.weights()))
        self.trains.append(run.train_loss())


class _Plateau:
    """Counts epochs since the training loss last fell by more than 0.1% below its best."""

    def __init__(self, patience: int, best: float = math.inf):
        self.patience, self.best, self.since = patience, best, 0

    def update(self, loss: float) -> None:
        self.since = 0 if loss < self.best * (1 - 1e-3) else self.since + 1
        self.best = min(self.best, loss)

    def stalled(self) -> bool:
        return self.since >= self.patience

    def reset(self) -> None:
        self.since = 0


def _lr_sweep(data: ProbeData, candidates: tuple[float, ...], epochs: int, batch_size: int, seed: int,
              x_test: np.ndarray, y_test: np.ndarray) -> dict[float, tuple[AdamProbeRun, _EpochRecorder, float]]:
    """One run per learning rate (same seed), ``epochs`` epochs each: {lr: (run, its record, final training loss)}."""
    out = {}
    for lr in candidates:
        run, record = AdamProbeRun(data, lr, batch_size, seed), _EpochRecorder(x_test, y_test)
        for _ in range(epochs):
            record(run)
        out[lr] = (run, record, record.trains[-1] if record.trains else float("nan"))
    return out


@torch.no_grad()
def adam_step_(state, grads, step: int, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """One ``torch.optim.Adam`` update (no weight decay, no amsgrad) of ``(param, exp_avg, exp_avg_sq)`` triples in place."""
    beta1, beta2 = betas
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    for (param, exp_avg, exp_avg_sq), grad in zip(state, grads):
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
