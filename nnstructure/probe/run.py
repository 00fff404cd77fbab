"""One probe result row: a (feature cache, layer, target, filtered?) cell with all its losses.

The row holds the Adam probe's and the exact least-squares probe's train and
test losses, the mean-guessing loss, and the settings that produced them
(epochs, batch size, learning rate, split, ridge), plus the network's
identity taken from the cache (checkpoint, trained or randomly initialised).

Whether the Adam probe converged is part of the row: ``adam_to_closed_form``
(its test loss over the exact probe's) and ``converged`` (that ratio at most
1.10), with how it was trained: ``adam_standardized``, ``adam_lr`` (chosen by
the sweep ``adam_lr_sweep`` when there is one), ``adam_final_lr``,
``adam_epochs`` (run; ``epochs`` is the minimum asked for), ``adam_max_epochs``,
``adam_stop`` and a readable ``adam_method``.
"""

from __future__ import annotations

import numpy as np

from nnstructure.probe.features import FeatureCache
from nnstructure.probe.schedule import LR_SWEEP, MAX_EPOCHS, TRAIN_TOL
from nnstructure.probe.fit import (
    ProbeFit,
    adam_converged,
    adam_to_closed_form,
    fit_closed_form_probe,
    fit_converged_adam_probe,
    mean_guess_loss,
)
from nnstructure.probe.targets import coin_visible_mask, get_target, target_values
from nnstructure.seeding import derive_seed

SPLITS = ("dataset", "random")
TEST_FRACTION = 0.1


def split_masks(rows, split: str = "dataset", seed: int = 0, test_fraction: float = TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Boolean train/test masks over ``rows``.

    ``"dataset"`` uses the table's own ``split`` column (transition datasets
    split by episode); ``"random"`` holds out a seeded ``test_fraction`` of the
    rows (transitions drawn independently, as "10% of these transitions held
    out" can also be read).
    """
    n = len(rows)
    if split == "dataset":
        if "split" not in rows.columns:
            raise ValueError("split 'dataset' needs a 'split' column in the feature rows; use split 'random'")
        values = rows["split"].astype(str).to_numpy()
        unknown = set(values) - {"train", "test"}
        if unknown:
            raise ValueError(f"feature rows have split values {sorted(unknown)}; expected 'train' and 'test'")
        return values == "train", values == "test"
    if split == "random":
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(derive_seed("probe-split", seed))
        test = np.zeros(n, dtype=bool)
        test[rng.permutation(n)[: int(round(n * test_fraction))]] = True
        return ~test, test
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def probe_row(cache: FeatureCache, layer: int, target: str, filtered: bool = False, epochs: int = 5,
              batch_size: int = 128, lr: float = 1e-3, seed: int = 0, split: str = "dataset",
              ridge: float = 1e-8, device: str = "cpu", standardize: bool = True,
              lr_sweep: tuple[float, ...] = LR_SWEEP, max_epochs: int = MAX_EPOCHS, train_tol: float = TRAIN_TOL) -> dict:
    """Fit the closed-form and Adam probes of ``target`` on ``layer`` of ``cache``; return one results row.

    The Adam probe runs at least ``epochs`` epochs and then, up to
    ``max_epochs``, until it reaches the closed form
    (:func:`~nnstructure.probe.fit.fit_converged_adam_probe`); ``standardize=False``,
    ``lr_sweep=()`` and ``max_epochs=epochs`` give the thesis's raw, fixed-epoch probe.
    """
    spec = get_target(target)
    rows = cache.rows
    keep = coin_visible_mask(rows) if filtered else np.ones(len(rows), dtype=bool)
    # Filter first, then split, so a random split holds out 10% of the filtered rows.
    sub = rows[keep].reset_index(drop=True)
    train, test = split_masks(sub, split, seed)
    if train.sum() < 2 or test.sum() < 1:
        raise ValueError(f"too few rows to probe: {int(train.sum())} train / {int(test.sum())} test "
                         f"({'filtered, ' if filtered else ''}split {split!r}) in {cache.path}")
    y = target_values(sub, spec.name)
    features = cache.layer(layer)
    rows_kept = np.flatnonzero(keep)
    # One in-memory copy per split, read straight from the memory map; Adam standardises the training copy in place.
    x_train, x_test = (np.ascontiguousarray(features[rows_kept[mask]], dtype=np.float32) for mask in (train, test))
    n_features = int(features.shape[1])
    fit_seed = derive_seed("probe-adam", seed, layer, spec.name, filtered)
    exact = fit_closed_form_probe(x_train, y[train], x_test, y[test], ridge)
    adam = fit_converged_adam_probe(x_train, y[train], x_test, y[test], exact.train_loss, epochs, max_epochs,
                                    batch_size, lr, lr_sweep, train_tol=train_tol, seed=fit_seed, device=device,
                                    standardize=standardize, overwrite=True)
    del x_train
    meta = cache.metadata
    return {
        "network": meta.get("network", ""),
        "checkpoint": meta.get("checkpoint", ""),
        "init": "random" if meta.get("random_init_seed") is not None else "trained",
        "init_seed": meta.get("random_init_seed"),
        "source": meta.get("source", ""),
        "layer": int(layer),
        "target": spec.name,
        "target_label": spec.label,
        "n_components": int(y.shape[1]),
        "filtered": bool(filtered),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "optimizer": "adam",
        "split": split,
        "seed": int(seed),
        "ridge": float(ridge),
        "n_features": n_features,
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "mean_loss": mean_guess_loss(y[train], y[test]),
        "adam_train_loss": adam.train_loss,
        "adam_test_loss": adam.test_loss,
        "closed_form_train_loss": exact.train_loss,
        "closed_form_test_loss": exact.test_loss,
        "adam_test_loss_by_epoch": list(adam.test_loss_by_epoch),
        **adam_columns(adam, exact, epochs, max_epochs),
    }


def adam_columns(adam: ProbeFit, exact: ProbeFit, epochs: int, max_epochs: int) -> dict:
    """How the Adam probe was trained and whether it converged (reached the closed form's test loss within 10%)."""
    return {
        "adam_to_closed_form": adam_to_closed_form(adam.test_loss, exact.test_loss),
        "converged": adam_converged(adam.test_loss, exact.test_loss),
        "adam_standardized": bool(adam.standardized),
        "adam_lr": float(adam.lr),
        "adam_final_lr": float(adam.final_lr),
        "adam_lr_sweep": [float(v) for v in adam.sweep],
        "adam_sweep_train_loss": [float(v) for v in adam.sweep.values()],
        "adam_epochs": int(adam.epochs),
        "adam_max_epochs": int(max(max_epochs, epochs)),
        "adam_stop": adam.stop,
        "adam_train_loss_by_epoch": list(adam.train_loss_by_epoch),
        "adam_method": adam_method(adam, epochs),
    }


def adam_method(adam: ProbeFit, epochs: int) -> str:
    """One phrase: ``"standardised, lr 0.01 (sweep 0.001/0.003/0.01), 40 epochs (min 5), final lr 0.001, stop closed_form"``."""
    parts = ["standardised" if adam.standardized else "raw features"]
    sweep = f" (sweep {'/'.join(f'{v:g}' for v in adam.sweep)})" if adam.sweep else ""
    parts.append(f"lr {adam.lr:g}{sweep}")
    parts.append(f"{adam.epochs} epochs" + (f" (min {epochs})" if adam.epochs != epochs else ""))
    if adam.final_lr != adam.lr:
        parts.append(f"final lr {adam.final_lr:g}")
    parts.append(f"stop {adam.stop}")
    return ", ".join(parts)
