"""CPU time per training step with the spectral clusterability regulariser: ``spectral_reg_method`` eigh vs power.

One training step = forward, cross-entropy + ``spectral_reg * spectral_penalty``, backward, Adam step (and, for the
MLP or CNN, Algorithm 2's renormalisation of units or channels), on random MNIST-shaped batches (1x28x28, 10 classes, batch ``--batch-size``):

* ``mlp``: 784-256-256-256-256-10 MLP; the regulariser reads its unit graph (1,818 nodes);
* ``cnn``: the thesis's small CNN (three 3x3 convs of 64 channels); the regulariser reads its channel graph
  (192 nodes, l1 kernel norms);
* ``none``: the same step without the regulariser (the floor).

Times are ``time.process_time`` (CPU time, 1 thread: the machine may be loaded), the median over ``--steps`` steps
after ``--warmup`` steps; ``power`` is timed warm (its first, cold call runs in the warm-up). Prints a table and the
ratio eigh / power per network.

    python benchmarks/spectral_regularizer.py [--steps 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from nnstructure.models import build_model, model_spec
from nnstructure.train.regularizers import (
    eigenvalue_estimator, laplacian_eigenvalues, normalize_channels_, normalize_hidden_units_, spectral_penalty,
)

EIGS = (2, 3, 4)


def step_times(arch: str, method: str | None, steps: int, warmup: int, batch_size: int,
               seed: int = 0) -> tuple[list[float], float]:
    """CPU seconds of each timed training step (``method`` None: no regulariser), and for ``power`` the largest
    error of its eigenvalue estimates against ``eigvalsh`` over the timed steps (checked outside the timing)."""
    torch.manual_seed(seed)
    model = build_model(model_spec(arch, (1, 28, 28), 10), seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    estimator = eigenvalue_estimator(method, EIGS, seed=seed) if method else None
    gen = torch.Generator().manual_seed(seed)
    times, worst = [], 0.0
    for i in range(warmup + steps):
        x = torch.rand(batch_size, 1, 28, 28, generator=gen)
        y = torch.randint(0, 10, (batch_size,), generator=gen)
        t0 = time.process_time()
        loss = nn.functional.cross_entropy(model(x), y)
        if method:
            penalty = spectral_penalty(model, EIGS, "sum", estimator=estimator)
            loss = loss + 0.1 * penalty.float()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if method:  # Algorithm 2: hidden units (MLP) or conv channels (CNN)
            (normalize_hidden_units_ if arch == "mlp" else normalize_channels_)(model)
        if i >= warmup:
            times.append(time.process_time() - t0)
            if method == "power":  # the penalty was computed before this step's update: compare on those weights
                worst = max(worst, abs(float(penalty.detach()) - float(exact_before)))
        if method == "power":
            exact_before = laplacian_eigenvalues(model).detach()[[k - 1 for k in EIGS]].sum()
    return times, worst


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--archs", default="mlp,cnn")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print("arch  method  median_cpu_s_per_step  min  max")
    for arch in args.archs.split(","):
        medians = {}
        for method in (None, "eigh", "power"):
            t, worst = step_times(arch, method, args.steps, args.warmup, args.batch_size)
            medians[method] = statistics.median(t)
            extra = f"  (power's eigenvalue-sum error vs eigh, worst timed step: {worst:.2e})" if method == "power" else ""
            print(f"{arch:5s} {method or 'none':7s} {medians[method]:.4f}  {min(t):.4f}  {max(t):.4f}{extra}", flush=True)
        reg_eigh, reg_power = medians["eigh"] - medians[None], medians["power"] - medians[None]
        print(f"{arch}: step eigh/power = {medians['eigh'] / medians['power']:.2f}x; regulariser's own time "
              f"eigh {reg_eigh:.4f} s vs power {reg_power:.4f} s ({reg_eigh / max(reg_power, 1e-9):.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
