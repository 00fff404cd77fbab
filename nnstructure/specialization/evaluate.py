"""Measure a proxy on every true subcluster of a partition and on its random controls.

:func:`evaluate_partition` returns the *results table*: one row per
(subcluster, true-or-random index) with

* identification: the ``identity`` columns given (condition, replicate,
  partitioning, k, ...), ``proxy``, ``layer``, ``layer_position``, ``label``,
  ``size``, ``layer_size``, ``is_true``, ``random_index`` (-1 for the true
  subcluster, ``0..n_random-1`` for its random ones), ``units`` (comma-separated
  unit indices);
* lesion metrics: ``accuracy``, ``accuracy_drop``, ``mean_class_drop``,
  ``class_range`` (raw, thesis text), ``class_range_normalized`` (divided by
  the mean class drop, original code), ``class_accuracy_drops`` (list, one per
  class present), ``base_accuracy``, ``n_test``;
* visualisation metrics: ``vis_score``, ``softmax_entropy``, ``predicted_class``;
* the settings that produced the row: ``random_pool``, ``n_random``,
  ``seed``, ``lesion_method`` or the ``vis_*`` settings.

Lesions are evaluated layer by layer, all lesions of a layer together
(:func:`nnstructure.specialization.lesion.lesion_class_correct`), on every
layer's units computed in one forward pass of the test set
(:func:`~nnstructure.specialization.lesion.unit_outputs`);
visualisations likewise, all true and random subclusters of a layer as one
batch of images. With ``images=True`` the visualisation also returns an
*images table*: the true image and the first ``n_saved_random`` random ones
of every subcluster, as ``uint8`` bytes (``image``, with ``channels, height,
width``), for Figure 4.4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from nnstructure.graph.activations import UnitLayer, unit_layers
from nnstructure.seeding import derive_seed
from nnstructure.specialization.choices import PROXIES, RANDOM_POOLS
from nnstructure.specialization.lesion import class_correct, lesion_class_correct, lesion_metrics, unit_outputs
from nnstructure.specialization.subclusters import (
    Subcluster,
    layer_labels,
    random_subclusters,
    true_subclusters,
)
from nnstructure.specialization.visualization import VisualizationSettings, visualize_subclusters

# Default bound on the pixels optimised in one batch (e.g. all 1200 images of an MNIST layer, 27 ImageNet images).
VIS_BATCH_PIXELS = 1 << 22
# What a lesion silences: the units' incoming and outgoing weights (thesis text).
LESION_METHOD = "zero-in-and-out"
LESION_METRICS = ("accuracy_drop", "class_range", "class_range_normalized")
VIS_METRICS = ("vis_score", "softmax_entropy")


def _units_text(units: np.ndarray) -> str:
    return ",".join(str(int(u)) for u in units)


def _subcluster_sets(
    subclusters: list[Subcluster], n_random: int, seed: int, pool: str, labels: dict[str, np.ndarray]
) -> list[tuple[Subcluster, list[np.ndarray]]]:
    """Each subcluster with its unit sets: the true one first, then the random ones."""
    out = []
    for sub in subclusters:
        arr = labels[sub.layer]
        randoms = random_subclusters(sub, n_random, seed, pool, labelled_units=np.nonzero(arr >= 0)[0])
        out.append((sub, [sub.units] + list(randoms)))
    return out


def _base_rows(sub: Subcluster, sets: list[np.ndarray]) -> list[dict]:
    return [
        {
            "layer": sub.layer, "layer_position": sub.layer_position, "label": sub.label, "size": sub.size,
            "layer_size": sub.layer_size, "is_true": i == 0, "random_index": i - 1, "units": _units_text(units),
        }
        for i, units in enumerate(sets)
    ]


def evaluate_partition(
    model: nn.Sequential,
    labels: pd.DataFrame,
    proxy: str,
    dataset,
    n_random: int = 19,
    seed: int = 0,
    random_pool: str = "all",
    vis_settings: VisualizationSettings | None = None,
    images: bool = False,
    n_saved_random: int = 1,
    identity: dict | None = None,
    device=None,
    vis_max_batch: int | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(results, images)`` of ``proxy`` on the subclusters of ``labels`` (see the module docstring).

    ``dataset`` is the :class:`~nnstructure.data.Dataset` the network was
    trained on (lesions use its test split; visualisation its input shape).
    ``vis_max_batch`` bounds the images optimised at once (default: about
    :data:`VIS_BATCH_PIXELS` pixels per batch; results do not depend on it).
    """
    from nnstructure.device import select_device

    if proxy not in PROXIES:
        raise ValueError(f"unknown proxy {proxy!r}; choose one of {', '.join(PROXIES)}")
    if random_pool not in RANDOM_POOLS:
        raise ValueError(f"random pool must be one of {RANDOM_POOLS}, got {random_pool!r}")
    if dataset.task != "classification":
        raise ValueError(f"chapter-4 proxies need a classification dataset; {dataset.name!r} is {dataset.task}")
    device = device if isinstance(device, torch.device) else select_device(device)
    layers = unit_layers(model)
    per_layer = layer_labels(labels, layers)
    subclusters = true_subclusters(labels, layers)
    sets = _subcluster_sets(subclusters, n_random, seed, random_pool, per_layer)
    identity = dict(identity or {})
    settings = {"random_pool": random_pool, "n_random": int(n_random), "seed": int(seed)}
    by_layer: dict[str, list[tuple[Subcluster, list[np.ndarray]]]] = {}
    for sub, unit_sets in sets:
        by_layer.setdefault(sub.layer, []).append((sub, unit_sets))
    layer_of = {layer.name: layer for layer in layers}
    from tqdm import tqdm

    rows: list[dict] = []
    image_rows: list[dict] = []
    if proxy == "lesion":
        n_classes = int(dataset.n_classes)
        class_counts = np.bincount(dataset.y_test, minlength=n_classes)[:n_classes]
        base = class_correct(model, dataset.x_test, dataset.y_test, n_classes, device=device)
        base_accuracy = float(base.sum() / class_counts.sum())
        # every layer's units on the test set from one forward pass (None when too large: then per layer)
        outputs = unit_outputs(model, [layer_of[name] for name in by_layer], dataset.x_test, device)
        for name in tqdm(by_layer, desc="lesions", disable=not progress, leave=False):
            rows += _lesion_layer(model, layer_of[name], by_layer[name], dataset, n_classes, class_counts, base, device,
                                  None if outputs is None else outputs[name])
        for row in rows:
            row.update(base_accuracy=base_accuracy, n_test=int(class_counts.sum()), lesion_method=LESION_METHOD)
    else:
        vis_settings = vis_settings or VisualizationSettings.preset("thesis")
        if not dataset.is_image:
            raise ValueError(f"feature visualisation needs an image dataset; {dataset.name!r} has inputs of shape {dataset.input_shape}")
        for name in tqdm(by_layer, desc="visualisation", disable=not progress, leave=False):
            new_rows, new_images = _visualize_layer(
                model, layer_of[name], by_layer[name], seed, vis_settings, dataset.input_shape, device,
                vis_max_batch, images, n_saved_random,
            )
            rows += new_rows
            image_rows += new_images
        for row in rows:
            row.update(vis_settings.record())
    for row in rows:
        row.update(settings)
    results = pd.DataFrame([{**identity, "proxy": proxy, **row} for row in rows], columns=_columns(identity, proxy, vis_settings))
    image_table = None
    if proxy == "visualization" and images:
        image_table = pd.DataFrame(
            [{**identity, **row} for row in image_rows],
            columns=[*identity, "layer", "label", "size", "is_true", "random_index", "channels", "height", "width", "image"],
        )
    return results, image_table


def _columns(identity: dict, proxy: str, vis_settings: VisualizationSettings | None) -> list[str]:
    base = [*identity, "proxy", "layer", "layer_position", "label", "size", "layer_size", "is_true", "random_index", "units"]
    if proxy == "lesion":
        metrics = ["accuracy", "accuracy_drop", "mean_class_drop", "class_range", "class_range_normalized",
                   "class_accuracy_drops", "base_accuracy", "n_test", "lesion_method"]
    else:
        metrics = ["vis_score", "softmax_entropy", "predicted_class", *VisualizationSettings().record()]
    return base + metrics + ["random_pool", "n_random", "seed"]


def _lesion_layer(model, layer: UnitLayer, items, dataset, n_classes, class_counts, base, device, outputs=None) -> list[dict]:
    keep = np.ones((sum(len(s) for _, s in items), layer.size), dtype=bool)
    meta = []
    i = 0
    for sub, unit_sets in items:
        base_rows = _base_rows(sub, unit_sets)
        for units, row in zip(unit_sets, base_rows):
            keep[i, units] = False
            meta.append(row)
            i += 1
    counts = lesion_class_correct(model, layer, keep, dataset.x_test, dataset.y_test, n_classes, device=device,
                                  outputs=outputs)
    metrics = lesion_metrics(base, counts, class_counts)
    for j, row in enumerate(meta):
        row.update(
            accuracy=float(metrics["accuracy"][j]),
            accuracy_drop=float(metrics["accuracy_drop"][j]),
            mean_class_drop=float(metrics["mean_class_drop"][j]),
            class_range=float(metrics["class_range"][j]),
            class_range_normalized=float(metrics["class_range_normalized"][j]),
            class_accuracy_drops=[float(v) for v in metrics["class_accuracy_drops"][j]],
        )
    return meta


def image_seed(seed: int, layer: str, label: int, random_index: int) -> int:
    """Seed of the visualisation of one (true: ``random_index = -1``) subcluster."""
    return derive_seed(seed, "visualization", layer, label, random_index)


def _visualize_layer(model, layer, items, seed, settings, input_shape, device, max_batch, keep_images, n_saved_random):
    masks, seeds, meta = [], [], []
    for sub, unit_sets in items:
        for units, row in zip(unit_sets, _base_rows(sub, unit_sets)):
            mask = np.zeros(layer.size, dtype=bool)
            mask[units] = True
            masks.append(mask)
            seeds.append(image_seed(seed, sub.layer, sub.label, row["random_index"]))
            meta.append(row)
    if max_batch is None:
        max_batch = max(1, VIS_BATCH_PIXELS // int(np.prod(input_shape)))
    out = visualize_subclusters(model, layer, np.stack(masks), seeds, settings, tuple(input_shape), device=device, max_batch=max_batch)
    image_rows = []
    for j, row in enumerate(meta):
        row.update(vis_score=float(out["score"][j]), softmax_entropy=float(out["softmax_entropy"][j]),
                   predicted_class=int(out["predicted_class"][j]))
        if keep_images and row["random_index"] < n_saved_random:
            img = np.clip(np.rint(out["images"][j] * 255), 0, 255).astype(np.uint8)
            image_rows.append({
                "layer": row["layer"], "label": row["label"], "size": row["size"], "is_true": row["is_true"],
                "random_index": row["random_index"], "channels": img.shape[0], "height": img.shape[1],
                "width": img.shape[2], "image": img.tobytes(),
            })
    return meta, image_rows
