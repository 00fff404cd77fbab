"""One probe result row: a (feature cache, layer, target, filtered?) cell with all its losses.

The row holds the Adam probe's and the exact least-squares probe's train and
test losses, the mean-guessing loss, and the settings that produced them
(epochs, batch size, learning rate, split, ridge), plus the network's
identity taken from the cache (checkpoint, trained or randomly initialised).
"""

from __future__ import annotations

import numpy as np

from nnstructure.probe.features import FeatureCache
from nnstructure.probe.fit import fit_adam_probe, fit_closed_form_probe, mean_guess_loss
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
              ridge: float = 1e-8, device: str = "cpu") -> dict:
    """Fit the Adam and closed-form probes of ``target`` on ``layer`` of ``cache``; return one results row."""
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
    x = np.asarray(cache.layer(layer))[keep]
    fit_seed = derive_seed("probe-adam", seed, layer, spec.name, filtered)
    adam = fit_adam_probe(x[train], y[train], x[test], y[test], epochs, batch_size, lr, fit_seed, device)
    exact = fit_closed_form_probe(x[train], y[train], x[test], y[test], ridge)
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
        "n_features": int(x.shape[1]),
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "mean_loss": mean_guess_loss(y[train], y[test]),
        "adam_train_loss": adam.train_loss,
        "adam_test_loss": adam.test_loss,
        "closed_form_train_loss": exact.train_loss,
        "closed_form_test_loss": exact.test_loss,
        "adam_test_loss_by_epoch": list(adam.test_loss_by_epoch),
    }
