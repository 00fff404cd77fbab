"""Where probe inputs come from, and building a feature cache from a checkpoint.

Two sources, both read once in a fixed order:

* a procgen transition dataset folder (:class:`~nnstructure.reward.transitions.TransitionDataset`):
  inputs are [observation, next observation] / 255, rows keep the dataset's
  ``split`` (by episode) and the distance columns every target needs;
* freshly generated dots-and-distances images (thesis 5.9: "each on a fresh
  dataset of size 9e4"), the last ``test_fraction`` of them held out; rows keep
  the three same-colour distances and their mean.

The network is read by :func:`nnstructure.network_io.load_network` (our
checkpoints, TorchScript, state dicts, pickles with ``allow_pickle``) and checked
against the inputs with one forward pass, or (``random_init_seed``) is a randomly
initialised one of the same architecture: the probe baseline in the tables'
parentheses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from nnstructure.probe.features import FeatureCache, pooled_features, write_feature_cache
from nnstructure.probe.targets import TRANSITION_COLUMNS
from nnstructure.seeding import derive_seed

# Identifying columns kept from a transition table, beside the target columns.
TRANSITION_ID_COLUMNS = ("episode", "step", "shard", "action", "reward")
DOTS_PROBE_SPLIT = "probe"  # the generator stream of probe datasets, disjoint from the training splits


def transition_batches(dataset, batch_size: int = 256, where=None) -> Iterator[tuple[torch.Tensor, dict]]:
    """``(inputs [B, 6, H, W] in [0, 1], {"row": table positions})`` over every kept transition (or those of the
    boolean row mask ``where``), in table order."""
    from nnstructure.models.reward import transition_inputs

    for batch in dataset.batches(None, batch_size, shuffle=False, columns=("row",), where=where):
        yield transition_inputs(batch["obs"], batch["next_obs"]), {"row": batch["row"]}


def transition_subset(dataset, n: int | None) -> np.ndarray | None:
    """A boolean row mask of a seeded random ``n`` of the dataset's kept transitions (None: every one). The
    train/test split is the dataset's, by episode, so each split keeps its share in expectation."""
    if n is None:
        return None
    if n < 1:
        raise ValueError(f"transitions_n must be at least 1, got {n}")
    kept = dataset.rows()
    mask = np.zeros(dataset.n_rows, dtype=bool)
    if n >= len(kept):
        mask[kept] = True
        return mask
    mask[np.random.default_rng(derive_seed("probe-transitions", n)).choice(kept, size=n, replace=False)] = True
    return mask


def transition_rows(dataset, positions: np.ndarray):
    """The table rows at ``positions`` with the split, identifying and target columns a probe needs."""
    import pandas as pd

    table = dataset.table
    keep = [c for c in ("split", *TRANSITION_ID_COLUMNS, *TRANSITION_COLUMNS) if c in table.columns]
    rows = table.iloc[np.asarray(positions, dtype=np.int64)][keep].reset_index(drop=True)
    return pd.concat([pd.DataFrame({"row": np.asarray(positions, dtype=np.int64)}), rows], axis=1)


def dots_batches(seed: int, n: int, batch_size: int = 256, test_fraction: float = 0.1) -> Iterator[tuple[torch.Tensor, dict]]:
    """Images ``0..n-1`` of the dots probe stream of ``seed`` as ``(inputs / 255, columns)``; the last
    ``round(n * test_fraction)`` are the test split."""
    from nnstructure.data.dots import centres_at, pair_distances, render_dots
    from nnstructure.data.dots_stream import dots_split_seed

    if n < 2:
        raise ValueError(f"a dots probe dataset needs at least 2 images, got {n}")
    n_test = int(round(n * test_fraction))
    stream_seed = dots_split_seed(seed, DOTS_PROBE_SPLIT)
    for start in range(0, n, batch_size):
        index = np.arange(start, min(start + batch_size, n))
        centres = centres_at(stream_seed, index)
        dist = pair_distances(centres)
        x = torch.from_numpy(render_dots(centres)).float().div_(255.0)
        yield x, {
            "index": index,
            "split": np.where(index >= n - n_test, "test", "train"),
            "pair_distance_red": dist[:, 0], "pair_distance_blue": dist[:, 1], "pair_distance_green": dist[:, 2],
            "mean_distance": dist.mean(axis=1),
        }


def probe_network(checkpoint: str | os.PathLike, random_init_seed: int | None = None, allow_pickle: bool = False):
    """The model to probe and its metadata, read by :func:`nnstructure.network_io.load_network` (any format it
    reads), or a fresh initialisation of the network's spec (``random_init_seed``)."""
    from torch import nn

    from nnstructure.models import build_model
    from nnstructure.models.reward import relu_indices
    from nnstructure.network_io import NetworkFormatError, load_network

    model, meta = load_network(checkpoint, allow_pickle=allow_pickle)
    arch = (meta.get("spec") or {}).get("arch")
    if meta["network_format"] == "nnstructure checkpoint" and arch != "reward":
        raise ValueError(f"{checkpoint} is a {arch!r} network: the probes read the pooled ReLU layers of chapter 5's "
                         "reward-net architecture (a reward, adversarial or dots net, from `nnstructure reward-net`, "
                         "`adversarial-train` or `dots-net`)")
    if not isinstance(model, nn.Sequential) or not relu_indices(model):
        raise NetworkFormatError(
            f"{checkpoint} holds a {type(model).__name__} without nn.ReLU layers of its own: probes read the outputs of "
            "the ReLU modules of an nn.Sequential; save torch.jit.script(model) of an nn.Sequential, or its state_dict()")
    if random_init_seed is None:
        return model, meta
    if arch != "reward":
        raise ValueError(f"{checkpoint} ({meta['network_format']}) records no reward-net spec to draw a random network "
                         "of its architecture from; drop --random-init, or probe an nnstructure checkpoint")
    model = build_model(meta["spec"], seed=derive_seed("probe-random-init", int(random_init_seed)))
    return model.eval(), meta


def _checked_batches(model, batches, source: str, metadata: dict):
    """``batches`` after checking, with one forward pass on its first batch, that ``model`` takes these inputs
    (a one-line error naming the shape it expects and the one ``source`` gives)."""
    import itertools

    from nnstructure.network_io import check_network_inputs

    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return iter(())
    check_network_inputs(model, first[0], source, metadata)
    return itertools.chain([first], batches)


def cache_features(checkpoint: str | os.PathLike, out: str | os.PathLike, layers, dataset: str | os.PathLike | None = None,
                   dots_seed: int | None = None, dots_n: int = 90_000, transitions_n: int | None = None,
                   random_init_seed: int | None = None,
                   network: str | None = None, batch_size: int = 256, device: str | None = None,
                   progress: bool = True, allow_pickle: bool = False) -> FeatureCache:
    """Run one forward pass of a checkpoint's network (or a random one of its architecture) over a
    transition dataset folder or a fresh dots dataset, and cache the pooled ``layers`` under ``out``."""
    import math

    import pandas as pd

    from nnstructure.device import select_device

    if (dataset is None) == (dots_seed is None):
        raise ValueError("give exactly one input source: a transition dataset folder (--dataset) or a dots seed (--dots-seed)")
    from nnstructure.train.precision import network_precision

    model, ckpt_meta = probe_network(checkpoint, random_init_seed, allow_pickle)
    dev = select_device(device)
    precision = network_precision(ckpt_meta)  # a random initialisation is probed as its trained network
    if dataset is not None:
        from nnstructure.reward.transitions import TransitionDataset

        from nnstructure.reward.terminal_frames import network_terminal_frame

        data = TransitionDataset(dataset, terminal_frame=network_terminal_frame(ckpt_meta))
        subset = transition_subset(data, transitions_n)
        batches = _checked_batches(model, transition_batches(data, batch_size, subset), f"transition dataset {dataset}",
                                   ckpt_meta)
        feats, cols = pooled_features(model, batches, layers, dev, progress,
                                      total=math.ceil(data.n(where=subset) / batch_size), precision=precision)
        rows = transition_rows(data, cols["row"])
        source = {"source": str(Path(dataset)), "source_kind": "transitions", "terminal_frame": data.terminal_frame,
                  "transitions_n": None if transitions_n is None else int(transitions_n)}
    else:
        batches = _checked_batches(model, dots_batches(dots_seed, dots_n, batch_size), "the dots images", ckpt_meta)
        feats, cols = pooled_features(model, batches, layers, dev, progress,
                                      total=math.ceil(dots_n / batch_size), precision=precision)
        rows = pd.DataFrame(cols)
        source = {"source": f"dots:seed={dots_seed}:n={dots_n}", "source_kind": "dots", "dots_seed": int(dots_seed),
                  "dots_n": int(dots_n)}
    meta = {
        "network": network or Path(checkpoint).stem,
        "checkpoint": str(checkpoint),
        "spec": ckpt_meta.get("spec"),
        "network_format": ckpt_meta["network_format"],
        "random_init_seed": None if random_init_seed is None else int(random_init_seed),
        "device": str(dev),
        "precision": precision,
        **source,
    }
    return write_feature_cache(out, feats, rows, meta)
