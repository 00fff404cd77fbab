"""Space-pooled activations of a network's hidden layers, computed once and cached on disk.

Thesis section 5.7: a probe reads layer ``i`` of a network, where layer ``i``
is the output of the ``i``-th ReLU (layer 0 = the first convolution after its
activation), average-pooled over space. Every probe on that layer (every
target, filtered or not) is a linear map of the same pooled vector, so the
network's forward pass is run once per (network, layer set) and its outputs
are stored:

``<dir>/layer<L>.npy``   float32 ``[N, C_L]`` pooled features of layer ``L``
``<dir>/rows.parquet``   one row per input, same order: ``split`` and the
                         columns targets are computed from
``<dir>/features.json``  format marker and provenance (written last, so a
                         folder without it is incomplete)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from nnstructure.io import ArtifactError, atomic_path, read_json, write_json, write_parquet

FORMAT = "nnstructure-probe-features"
VERSION = 1


def check_layers(model: nn.Sequential, layers: Iterable[int]) -> list[int]:
    """``layers`` sorted and deduplicated; an error names the valid range when one is out of it."""
    from nnstructure.models.reward import relu_indices

    if not isinstance(model, nn.Sequential):
        raise TypeError(f"probes read flat nn.Sequential models, got {type(model).__name__}")
    layers = sorted({int(layer) for layer in layers})
    n = len(relu_indices(model))
    if not layers:
        raise ValueError("no layers requested; pass layer indices such as 1,2,3,4")
    bad = [layer for layer in layers if not 0 <= layer < n]
    if bad:
        raise ValueError(f"layer(s) {bad} do not exist: this network has {n} ReLU layers, numbered 0..{n - 1}")
    return layers


def pool_space(activation: torch.Tensor) -> torch.Tensor:
    """Average over every dimension after the channel one (``[B, C, H, W] -> [B, C]``); 2-d inputs pass through."""
    return activation.mean(dim=tuple(range(2, activation.ndim))) if activation.ndim > 2 else activation


@torch.no_grad()
def pooled_layer_outputs(model: nn.Sequential, x: torch.Tensor, layers: Iterable[int]) -> dict[int, torch.Tensor]:
    """Pooled outputs ``{layer: [B, C]}`` of the requested ReLU layers; the forward pass stops after the last one."""
    from nnstructure.models.reward import reward_layer_outputs

    outputs = reward_layer_outputs(model, x, check_layers(model, layers))
    return {layer: pool_space(h) for layer, h in outputs.items()}


def pooled_features(
    model: nn.Sequential,
    batches: Iterable[tuple[torch.Tensor, Mapping[str, np.ndarray | torch.Tensor]]],
    layers: Iterable[int],
    device: torch.device | str = "cpu",
    progress: bool = False,
    total: int | None = None,
    precision: str = "fp32",
) -> tuple[dict[int, np.ndarray], dict[str, np.ndarray]]:
    """Run ``model`` once over ``batches`` of ``(inputs, columns)``; return pooled features and the columns.

    ``inputs`` are float network inputs ``[B, ...]``; ``columns`` maps names to
    per-input values (targets, split, identifiers) that are concatenated in the
    same order as the features. ``total`` (number of batches) sizes the
    progress bar. ``precision`` ``"bf16"`` runs the network under bfloat16
    autocast (features are returned as float32).
    """
    from tqdm import tqdm

    from nnstructure.train.precision import autocast

    layers = check_layers(model, layers)
    device = torch.device(device)
    was_training = model.training
    model.eval().to(device)
    feats: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    cols: dict[str, list[np.ndarray]] = {}
    for inputs, columns in tqdm(batches, desc="probe features", total=total, file=sys.stderr, disable=not progress, leave=False):
        with autocast(device, precision):
            pooled = pooled_layer_outputs(model, inputs.to(device, non_blocking=True), layers)
        for layer, value in pooled.items():
            feats[layer].append(value.float().cpu().numpy())
        for name, value in columns.items():
            value = value.cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
            if len(value) != len(inputs):
                raise ValueError(f"column {name!r} has {len(value)} values for a batch of {len(inputs)} inputs")
            cols.setdefault(name, []).append(value)
    model.train(was_training)
    n_batches = len(feats[layers[0]])
    if n_batches == 0:
        raise ValueError("no batches: the dataset (or the requested split) is empty")
    return (
        {layer: np.concatenate(parts) for layer, parts in feats.items()},
        {name: np.concatenate(parts) for name, parts in cols.items()},
    )


@dataclass
class FeatureCache:
    """A feature folder written by :func:`write_feature_cache`; ``layer(L)`` memory-maps one layer."""

    path: Path
    metadata: dict
    rows: "pd.DataFrame"  # noqa: F821

    @property
    def layers(self) -> list[int]:
        return [int(layer) for layer in self.metadata["layers"]]

    def layer(self, layer: int) -> np.ndarray:
        if int(layer) not in self.layers:
            raise ValueError(f"feature cache {self.path} holds layers {self.layers}, not layer {layer}; "
                             f"recompute it with `nnstructure probe-features ... --layers` including {layer}")
        file = self.path / f"layer{int(layer)}.npy"
        try:
            values = np.load(file, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"feature file {file} is missing or corrupt ({exc}); delete {self.path} and rerun probe-features") from exc
        if values.ndim != 2 or len(values) != len(self.rows):
            raise ArtifactError(f"feature file {file} has shape {values.shape} but {self.path}/rows.parquet has {len(self.rows)} rows; "
                                f"delete {self.path} and rerun probe-features")
        return values


def write_feature_cache(path: str | os.PathLike, features: Mapping[int, np.ndarray], rows, metadata: dict) -> FeatureCache:
    """Write pooled ``features`` ``{layer: [N, C]}``, their ``rows`` table and ``metadata`` under folder ``path``."""
    import pandas as pd

    path = Path(path)
    rows = pd.DataFrame(rows).reset_index(drop=True)
    for layer, values in features.items():
        if len(values) != len(rows):
            raise ValueError(f"layer {layer} has {len(values)} feature rows but the table has {len(rows)}")
    path.mkdir(parents=True, exist_ok=True)
    (path / "features.json").unlink(missing_ok=True)  # the folder is incomplete until the end
    for layer, values in features.items():
        with atomic_path(path / f"layer{int(layer)}.npy") as tmp:
            np.save(tmp, np.ascontiguousarray(values, dtype=np.float32))
    write_parquet(rows, path / "rows.parquet")
    meta = {**metadata, "format": FORMAT, "version": VERSION, "layers": sorted(int(k) for k in features),
            "n_rows": len(rows), "widths": {str(k): int(v.shape[1]) for k, v in features.items()}}
    write_json(meta, path / "features.json")
    return FeatureCache(path=path, metadata=meta, rows=rows)


def load_feature_cache(path: str | os.PathLike) -> FeatureCache:
    """Open a feature folder; a missing or incomplete one raises :class:`ArtifactError` saying how to rebuild it."""
    from nnstructure.io import read_parquet

    path = Path(path)
    marker = path / "features.json"
    if not marker.exists():
        raise ArtifactError(f"{path} is not a complete probe feature cache (no features.json); "
                            f"run `nnstructure probe-features CHECKPOINT --dataset ... --out {path}`")
    meta = read_json(marker)
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ArtifactError(f"{marker} is not a version-{VERSION} probe feature cache; delete {path} and rerun probe-features")
    rows = read_parquet(path / "rows.parquet")
    if len(rows) != meta["n_rows"]:
        raise ArtifactError(f"{path}/rows.parquet has {len(rows)} rows, features.json says {meta['n_rows']}; delete {path} and rerun probe-features")
    return FeatureCache(path=path, metadata=meta, rows=rows)


def iterate_arrays(inputs: np.ndarray, columns: Mapping[str, np.ndarray], batch_size: int = 256,
                   scale: float | None = None) -> Iterator[tuple[torch.Tensor, dict[str, np.ndarray]]]:
    """Batches ``(inputs, columns)`` over in-memory arrays (``scale`` divides the inputs, e.g. 255 for uint8 images)."""
    for start in range(0, len(inputs), batch_size):
        x = torch.as_tensor(np.asarray(inputs[start:start + batch_size])).float()
        if scale is not None:
            x = x / scale
        yield x, {name: np.asarray(value[start:start + batch_size]) for name, value in columns.items()}
