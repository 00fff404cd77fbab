"""Lesion experiments (thesis 4.4.2): test accuracy after zeroing a set of hidden units.

A lesion of units ``c`` of one hidden layer sets the weights into and out of
them to zero (thesis: ``M(theta, c)``). Their outgoing weights being zero is
what the rest of the network sees, so the lesioned network is the original one
with the units' outputs zeroed where the next layer reads them (after any
ReLU / BatchNorm / pooling: :attr:`UnitLayer.mask_index`). The original code
zeroed only the incoming weights and biases, which for VGG's conv -> ReLU ->
BatchNorm still lets the BatchNorm shift through; here the units are silenced.

:func:`lesion_class_correct` evaluates many lesions of one layer at once:

1. the network up to the lesioned layer runs once per block of test inputs;
2. the rest of the network runs on all lesions of the layer as one batch;
3. only the inputs on which a lesioned unit is non-zero are recomputed: on all
   others the lesioned network computes exactly what the intact one does.

:func:`lesion_class_correct_naive` is the reference path (mask the model's
weights, evaluate the whole test set, once per lesion); both give identical
counts. :func:`lesion_metrics` turns counts into the importance and coherence
measures: the overall accuracy drop and the range over classes of the
class-wise accuracy drops, raw (thesis text) and divided by the mean class-wise
drop (original code, ``do_lesion_hypo_tests``).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from nnstructure.graph.activations import UnitLayer, network_inputs

# Elements of one batch of lesioned activations: small enough to stay in the CPU caches (1 MB of float32).
MAX_BATCH_ELEMENTS = 1 << 18
ROW_BLOCK = 10_000
# Test inputs whose activations at the lesioned layer are kept at once: at most this many elements (256 MB).
MAX_BLOCK_ELEMENTS = 1 << 26


def _run(modules, h: torch.Tensor) -> torch.Tensor:
    """``modules`` applied in order; ReLUs act in place on intermediate tensors (never on ``h``)."""
    start = h
    for m in modules:
        h = torch.relu_(h) if type(m) is nn.ReLU and h is not start else m(h)
    return h


def _as_keep(keep_masks, size: int, device) -> torch.Tensor:
    keep = torch.as_tensor(np.asarray(keep_masks), device=device).bool()
    if keep.ndim != 2 or keep.shape[1] != size:
        raise ValueError(f"keep masks must have shape (n_lesions, {size}), got {tuple(keep.shape)}")
    return keep


@torch.no_grad()
def class_correct(model: nn.Module, x, y, n_classes: int, device="cpu", batch_size: int = 1024) -> np.ndarray:
    """Correctly classified test inputs per class, ``(n_classes,)`` int64, of the intact model."""
    model = model.to(device).eval()
    y_t = torch.as_tensor(np.asarray(y), device=device)
    correct = torch.zeros(n_classes, dtype=torch.int64, device=device)
    for start in range(0, len(y_t), batch_size):
        pred = model(network_inputs(x[start:start + batch_size], device)).argmax(dim=1)
        yb = y_t[start:start + batch_size]
        correct += torch.bincount(yb[pred == yb], minlength=n_classes)[:n_classes]
    return correct.cpu().numpy()


@torch.no_grad()
def lesion_class_correct(
    model: nn.Sequential, layer: UnitLayer, keep_masks, x, y, n_classes: int, device="cpu",
    row_block: int = ROW_BLOCK, max_batch_elements: int = MAX_BATCH_ELEMENTS,
) -> np.ndarray:
    """Correct test inputs per class after each lesion: ``(n_lesions, n_classes)`` int64.

    ``keep_masks[m, u]`` is False for the units of ``layer`` silenced by lesion
    ``m``. ``x, y`` are the test inputs (``uint8`` images are scaled) and labels.

    When the units feed a dense layer (directly or through Flatten) that
    layer's lesioned pre-activations are computed as the intact ones minus the
    silenced units' contribution (``z - h[:, S] W[:, S]^T``), which costs
    ``|S|`` instead of all columns. That sum is rounded differently from the
    masked forward pass, so every (input, lesion) whose top-two logits are
    closer than :data:`MARGIN_TOLERANCE` (relative to the largest logit) is
    recomputed by the masked forward pass: the counts are those of
    :func:`lesion_class_correct_naive`.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    children = list(model.children())
    prefix, suffix = children[:layer.mask_index], children[layer.mask_index:]
    keep = _as_keep(keep_masks, layer.size, device)
    n_masks = keep.shape[0]
    lesioned = (~keep).float()
    lesioned_units = [torch.nonzero(~keep[m]).flatten() for m in range(n_masks)]
    dense = _dense_consumer(suffix)
    y_all = torch.as_tensor(np.asarray(y), device=device).long()
    counts = torch.zeros((n_masks, n_classes), dtype=torch.int64, device=device)
    per_input = int(np.prod(_run(prefix, network_inputs(x[:1], device)).shape[1:]))
    row_block = max(1, min(row_block, MAX_BLOCK_ELEMENTS // per_input))
    for start in range(0, len(y_all), row_block):
        yb = y_all[start:start + row_block]
        h = _run(prefix, network_inputs(x[start:start + row_block], device))
        if h.ndim < 2 or h.shape[1] != layer.size:
            raise ValueError(f"layer {layer.name!r}: expected {layer.size} units where they are read, got shape {tuple(h.shape)}")
        base_ok = _run(suffix, h).argmax(dim=1) == yb
        counts += torch.bincount(yb[base_ok], minlength=n_classes)[:n_classes]
        active = (h != 0).flatten(2).any(dim=2) if h.ndim > 2 else (h != 0)
        # affected[r, m]: input r has a non-zero unit among those lesion m silences; all others are unchanged
        affected = (active.float() @ lesioned.T) > 0
        if dense is not None:
            ok, rows, masks = _lesioned_ok_low_rank(h, yb, affected, lesioned_units, keep, suffix, dense, max_batch_elements)
        else:
            rows, masks = _pairs(affected)
            ok = _lesioned_ok_masked(h, yb, rows, masks, keep, suffix, max_batch_elements)
        counts.index_put_((masks, yb[rows]), ok.long() - base_ok[rows].long(), accumulate=True)
    return counts.cpu().numpy()


# Top-two logit gaps below this fraction of (1 + the largest |logit|) are recomputed exactly.
MARGIN_TOLERANCE = 1e-3


def _pairs(affected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, masks) of the affected pairs, grouped by mask."""
    masks, rows = torch.nonzero(affected.T, as_tuple=True)
    return rows, masks


def _dense_consumer(suffix: list[nn.Module]) -> tuple[int, nn.Linear] | None:
    """``(index in suffix, Linear)`` when the units are read by a Linear (possibly through Flatten)."""
    if suffix and isinstance(suffix[0], nn.Linear):
        return 0, suffix[0]
    if len(suffix) > 1 and isinstance(suffix[0], nn.Flatten) and isinstance(suffix[1], nn.Linear):
        return 1, suffix[1]
    return None


def _lesioned_ok_masked(h, yb, rows, masks, keep, suffix, max_batch_elements) -> torch.Tensor:
    """Correctness of the lesioned network on (row, mask) pairs: masked forward pass of the suffix."""
    ok = torch.zeros(rows.numel(), dtype=torch.bool, device=h.device)
    per_row = int(np.prod(h.shape[1:]))
    step = max(1, max_batch_elements // per_row)
    for s in range(0, rows.numel(), step):
        r, m = rows[s:s + step], masks[s:s + step]
        shape = (len(m), h.shape[1]) + (1,) * (h.ndim - 2)
        ok[s:s + step] = _run(suffix, h[r] * keep[m].to(h.dtype).view(shape)).argmax(dim=1) == yb[r]
    return ok


def _lesioned_ok_low_rank(h, yb, affected, lesioned_units, keep, suffix, dense, max_batch_elements):
    """Correctness on every affected (row, mask) pair via ``z - h_S W_S^T``, near-ties recomputed exactly.

    Each lesion runs over the inputs in blocks of about ``max_batch_elements``
    activations, so the intermediate tensors stay in the CPU caches.
    """
    index, linear = dense
    rest = suffix[index + 1:]
    flat = h.flatten(1)
    spatial = flat.shape[1] // h.shape[1]
    z = linear(flat)
    w = linear.weight
    n = h.shape[0]
    chunk = max(1, max_batch_elements // max(z.shape[1], flat.shape[1]))
    offsets = torch.arange(spatial, device=h.device)[None, :]
    all_rows = torch.arange(n, device=h.device)
    rows_out, masks_out, ok_out = [], [], []
    for m, units in enumerate(lesioned_units):
        hit = affected[:, m]
        n_hit = int(hit.sum())
        if n_hit == 0:
            continue
        cols = (units[:, None] * spatial + offsets).flatten() if spatial > 1 else units
        w_cols = w[:, cols].T.contiguous()
        # most inputs affected: update every row (where h[:, S] = 0 the update is exactly 0); else only the affected
        rows = all_rows if 2 * n_hit > n else torch.nonzero(hit).flatten()
        ok = torch.empty(rows.numel(), dtype=torch.bool, device=h.device)
        for s in range(0, rows.numel(), chunk):
            r = rows[s:s + chunk]
            block = slice(int(r[0]), int(r[-1]) + 1) if rows is all_rows else r
            logits = _run(rest, z[block] - flat[block][:, cols] @ w_cols)
            ok_chunk = logits.argmax(dim=1) == yb[r]
            if logits.shape[1] > 1:
                top2 = logits.topk(2, dim=1).values
                close = (top2[:, 0] - top2[:, 1]) < MARGIN_TOLERANCE * (1.0 + logits.abs().max(dim=1).values)
                if close.any():
                    rc = r[close]
                    ok_chunk[close] = _lesioned_ok_masked(h, yb, rc, torch.full_like(rc, m), keep, suffix, max_batch_elements)
            ok[s:s + chunk] = ok_chunk
        rows_out.append(rows)
        masks_out.append(torch.full_like(rows, m))
        ok_out.append(ok)
    if not rows_out:
        empty = torch.zeros(0, dtype=torch.long, device=h.device)
        return torch.zeros(0, dtype=torch.bool, device=h.device), empty, empty
    return torch.cat(ok_out), torch.cat(rows_out), torch.cat(masks_out)


def lesioned_copy(model: nn.Sequential, layer: UnitLayer, units, input_shape) -> nn.Sequential:
    """A copy of ``model`` with the weights into and out of ``units`` of ``layer`` set to zero.

    ``input_shape`` is one input's shape (needed to find a Flatten's column
    blocks when the layer feeds a dense layer through it).
    """
    units = torch.as_tensor(np.asarray(units), dtype=torch.long)
    lesioned = copy.deepcopy(model).eval()
    children = list(lesioned.children())
    producer = children[layer.module_index]
    with torch.no_grad():
        producer.weight[units] = 0
        if producer.bias is not None:
            producer.bias[units] = 0
        if layer.mask_index >= len(children):
            return lesioned
        consumer = children[layer.mask_index]
        if isinstance(consumer, nn.Flatten):
            probe = torch.zeros((1, *input_shape), device=producer.weight.device)
            spatial = int(np.prod(_run(children[:layer.mask_index], probe).shape[2:]))
            dense = next(m for m in children[layer.mask_index + 1:] if isinstance(m, nn.Linear))
            cols = (units[:, None] * spatial + torch.arange(spatial)[None, :]).reshape(-1)
            dense.weight[:, cols] = 0
        else:
            consumer.weight[:, units] = 0
    return lesioned


def lesion_class_correct_naive(
    model: nn.Sequential, layer: UnitLayer, keep_masks, x, y, n_classes: int, device="cpu", batch_size: int = 1024
) -> np.ndarray:
    """Reference for :func:`lesion_class_correct`: one masked model and one full test pass per lesion."""
    keep = np.asarray(keep_masks, dtype=bool)
    out = np.zeros((keep.shape[0], n_classes), dtype=np.int64)
    for m in range(keep.shape[0]):
        lesioned = lesioned_copy(model, layer, np.nonzero(~keep[m])[0], np.asarray(x).shape[1:])
        out[m] = class_correct(lesioned, x, y, n_classes, device=device, batch_size=batch_size)
    return out


def lesion_metrics(base_correct: np.ndarray, lesion_correct: np.ndarray, class_counts: np.ndarray) -> dict[str, np.ndarray]:
    """Importance and coherence of lesions from correct counts.

    ``base_correct`` ``(C,)`` and ``lesion_correct`` ``(M, C)`` are correct
    counts per class, ``class_counts`` ``(C,)`` the test inputs per class.
    Returns arrays over lesions: ``accuracy``, ``accuracy_drop`` (overall),
    ``class_accuracy_drops`` ``(M, C')`` over the ``C'`` classes present,
    ``mean_class_drop``, ``class_range`` (max - min class drop) and
    ``class_range_normalized`` (class range / |mean class drop|; 0 when both
    are 0, infinite when only the mean is).
    """
    base_correct = np.asarray(base_correct, dtype=np.float64)
    lesion_correct = np.atleast_2d(np.asarray(lesion_correct, dtype=np.float64))
    class_counts = np.asarray(class_counts, dtype=np.float64)
    present = class_counts > 0
    n = class_counts.sum()
    drops = (base_correct[present] - lesion_correct[:, present]) / class_counts[present]
    mean_drop = drops.mean(axis=1)
    rng = drops.max(axis=1) - drops.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalized = np.where(mean_drop != 0, rng / np.abs(mean_drop), np.where(rng > 0, np.inf, 0.0))
    accuracy = lesion_correct.sum(axis=1) / n
    return {
        "accuracy": accuracy,
        "accuracy_drop": base_correct.sum() / n - accuracy,
        "class_accuracy_drops": drops,
        "mean_class_drop": mean_drop,
        "class_range": rng,
        "class_range_normalized": normalized,
    }
