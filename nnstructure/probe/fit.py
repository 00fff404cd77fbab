"""Linear probes on pooled features: Adam (as the thesis trained them) and the exact least-squares solution.

A probe is ``y ~ x W + b`` with MSE (mean over rows and target components).
The thesis trained it with Adam (default settings, batch 128) for a handful of
epochs and noted probes that "still did not seem to have converged". On
cached features the same problem is ordinary least squares, so
:func:`fit_closed_form_probe` solves it exactly (with a tiny ridge
``ridge * trace(G) / d`` on the centred Gram matrix ``G``, which keeps dead,
all-zero ReLU channels harmless). Both losses side by side show how far Adam
was from the optimum. :func:`mean_guess_loss` is the thesis's "Mean" row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

CHUNK = 65_536


@dataclass
class ProbeFit:
    """A fitted linear probe: weights ``[C, T]``, bias ``[T]`` and its losses."""

    weight: np.ndarray
    bias: np.ndarray
    train_loss: float
    test_loss: float
    test_loss_by_epoch: list[float] = field(default_factory=list)


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
    """The least-squares probe, solved exactly in float64 (chunked: ``x`` may be a memory map)."""
    y_train = _as_2d(y_train).astype(np.float64)
    n, d = x_train.shape
    if n < 2:
        raise ValueError(f"a probe needs at least 2 training rows, got {n}")
    mean_x = np.zeros(d)
    for start in range(0, n, CHUNK):
        mean_x += np.asarray(x_train[start:start + CHUNK], dtype=np.float64).sum(axis=0)
    mean_x /= n
    mean_y = y_train.mean(axis=0)
    gram = np.zeros((d, d))
    cross = np.zeros((d, y_train.shape[1]))
    for start in range(0, n, CHUNK):
        xc = np.asarray(x_train[start:start + CHUNK], dtype=np.float64) - mean_x
        gram += xc.T @ xc
        cross += xc.T @ (y_train[start:start + CHUNK] - mean_y)
    scale = np.trace(gram) / d
    lam = ridge * (scale if scale > 0 else 1.0)
    import scipy.linalg

    try:
        weight = scipy.linalg.solve(gram + lam * np.eye(d), cross, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        weight = scipy.linalg.lstsq(gram + lam * np.eye(d), cross)[0]
    bias = mean_y - mean_x @ weight
    return ProbeFit(weight=weight, bias=bias, train_loss=linear_mse(x_train, y_train, weight, bias),
                    test_loss=linear_mse(x_test, y_test, weight, bias))


def fit_adam_probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   epochs: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                   device: torch.device | str = "cpu", betas: tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8) -> ProbeFit:
    """The thesis's probe: a linear layer trained with Adam (torch's defaults) on MSE, reshuffled every epoch.

    The layer starts as ``torch.nn.Linear`` does (uniform in +-1/sqrt(C)),
    drawn from a generator seeded with ``seed``; the test loss is recorded
    after every epoch. The MSE gradient of a linear map is written out and
    :func:`adam_step_` applies ``torch.optim.Adam``'s update (the same
    arithmetic, tested equal), about 4x faster than autograd plus the
    optimiser object on these tiny problems.
    """
    if epochs < 1:
        raise ValueError(f"a probe needs at least one epoch, got {epochs}")
    device = torch.device(device)
    y_train, y_test = _as_2d(y_train), _as_2d(y_test)
    n, d = x_train.shape
    t = y_train.shape[1]
    gen = torch.Generator().manual_seed(int(seed))
    bound = 1.0 / math.sqrt(d)
    weight = ((torch.rand(d, t, generator=gen) * 2 - 1) * bound).to(device)
    bias = ((torch.rand(t, generator=gen) * 2 - 1) * bound).to(device)
    state = [(weight, torch.zeros_like(weight), torch.zeros_like(weight)), (bias, torch.zeros_like(bias), torch.zeros_like(bias))]
    xt = torch.as_tensor(np.ascontiguousarray(x_train, dtype=np.float32), device=device)
    yt = torch.as_tensor(np.ascontiguousarray(y_train, dtype=np.float32), device=device)
    history = []
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb = xt[idx]
            # d/dpred of mean((pred - y)^2) over the batch's B x T entries
            residual = torch.addmm(bias, xb, weight).sub_(yt[idx]).mul_(2.0 / (len(idx) * t))
            step += 1
            adam_step_(state, (xb.T @ residual, residual.sum(dim=0)), step, lr, betas, eps)
        history.append(linear_mse(x_test, y_test, weight.double().cpu().numpy(), bias.double().cpu().numpy()))
    w, b = weight.double().cpu().numpy(), bias.double().cpu().numpy()
    return ProbeFit(weight=w, bias=b, train_loss=linear_mse(x_train, y_train, w, b),
                    test_loss=history[-1], test_loss_by_epoch=history)


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
