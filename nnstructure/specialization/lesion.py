"""Lesion experiments (thesis 4.4.2): test accuracy after zeroing a set of hidden units.

A lesion of units ``c`` of one hidden layer sets the weights into and out of
them to zero (thesis: ``M(theta, c)``). Their outgoing weights being zero is
what the rest of the network sees, so the lesioned network is the original one
with the units' outputs zeroed where the next layer reads them (after any
ReLU / BatchNorm / pooling: :attr:`UnitLayer.mask_index`). The original code
zeroed only the incoming weights and biases, which for VGG's conv -> ReLU ->
BatchNorm still lets the BatchNorm shift through; here the units are silenced.

:func:`lesion_class_correct` evaluates many lesions of one layer at once:

1. nothing upstream of the lesioned layer changes, so the network up to it runs
   once (for all layers together: :func:`unit_outputs`);
2. the layer reading the units (a Linear, through Flatten or not, or a Conv2d)
   gets the intact pre-activations minus the silenced units' part, for all
   lesions of one size in one batched product (grouped convolution);
3. the rest of the network runs on every (input, lesion) pair, in chunks of
   about a million elements, over blocks of test inputs of a few million
   elements at the lesioned layer (large fresh blocks cost more than their
   arithmetic on a CPU), with 2x2 max-pools as two elementwise maxima
   (:func:`max_pool_2x2`, the same values); near ties are recomputed by the
   masked forward pass.

Step 3 is what each lesion must pay: the multiply-adds downstream of the
lesioned layer. For the first hidden layer of a 4x256 MNIST MLP that is a third
of the whole network's, so no exact method that recomputes the downstream
layers is more than about 3x faster there than the naive path.

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

# Elements of one batch of lesioned activations: small enough to stay in the CPU caches (4 MB of float32).
MAX_BATCH_ELEMENTS = 1 << 20
ROW_BLOCK = 10_000
# Activations that unit_outputs keeps for all test inputs (every layer together): at most this many elements (256 MB).
MAX_CACHED_ELEMENTS = 1 << 26
# Test inputs lesioned together: at most this many elements at the lesioned layer (16 MB). Measured on the small
# CNN's first layer (8 lesions, 2,000 MNIST test images, one thread, loaded machine): 8.7 CPU-s at this size
# against 15.9 at 64M elements (1,280 images), where the freshly allocated blocks cost more than the arithmetic;
# 2M-8M elements are equal within the noise.
MAX_BLOCK_ELEMENTS = 1 << 22


def _is_max_pool_2x2(m: nn.Module) -> bool:
    """A 2x2 max-pool of stride 2 without padding, dilation, ceil mode or indices (every pool of our architectures)."""
    pair = nn.modules.utils._pair
    return (type(m) is nn.MaxPool2d and pair(m.kernel_size) == (2, 2) and pair(m.stride) == (2, 2)
            and pair(m.padding) == (0, 0) and pair(m.dilation) == (1, 1) and not m.ceil_mode and not m.return_indices)


def max_pool_2x2(h: torch.Tensor) -> torch.Tensor:
    """``nn.MaxPool2d(2)`` of an ``(N, C, H, W)`` tensor as two elementwise maxima, exactly (a max rounds nothing).

    On a CPU, PyTorch's ``max_pool2d`` of a contiguous (NCHW) tensor is several
    times slower than this (measured: 3.9 ms against 0.9 ms for 20 x 64 x 28 x 28,
    one thread), and it is most of what a convolutional network's lesions pay
    besides the convolutions. Odd rows and columns are dropped, as by the module.
    """
    h = h[..., : h.shape[-2] // 2 * 2, : h.shape[-1] // 2 * 2]
    rows = torch.maximum(h[..., 0::2, :], h[..., 1::2, :])
    return torch.maximum(rows[..., 0::2], rows[..., 1::2])


def _run(modules, h: torch.Tensor, owned: bool = False) -> torch.Tensor:
    """``modules`` applied in order; ReLUs act in place on intermediate tensors (on ``h`` only if ``owned``), and
    2x2 max-pools of 4-d tensors on a CPU take :func:`max_pool_2x2` (the same values)."""
    start = None if owned else h
    for m in modules:
        if type(m) is nn.ReLU and h is not start:
            h = torch.relu_(h)
        elif h.ndim == 4 and h.device.type == "cpu" and _is_max_pool_2x2(m):
            h = max_pool_2x2(h)
        else:
            h = m(h)
    return h


def _run_widest(modules, h: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``_run(modules, h)`` and the most elements per input of any activation on the way (input and output included)."""
    widest = int(np.prod(h.shape[1:]))
    for m in modules:
        h = _run([m], h)
        widest = max(widest, int(np.prod(h.shape[1:])))
    return h, widest


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
def unit_outputs(model: nn.Sequential, layers: list[UnitLayer], x, device="cpu", row_block: int = ROW_BLOCK,
                 max_elements: int = MAX_CACHED_ELEMENTS) -> dict[str, torch.Tensor] | None:
    """Each layer's units where the next layer reads them (input of child ``mask_index``), for all of ``x``.

    One forward pass of the network prefix shared by every layer, so a network's
    lesions of all layers compute their common prefix once. ``None`` when the
    outputs would exceed ``max_elements`` in all (then each layer recomputes its
    prefix block by block).
    """
    device = torch.device(device)
    model = model.to(device).eval()
    children = list(model.children())
    wanted = sorted({layer.mask_index for layer in layers})
    if not wanted or len(x) == 0:
        return None
    h = _run(children[:wanted[0]], network_inputs(x[:1], device))
    per_input, probe = 0, h
    for a, b in zip(wanted, wanted[1:] + [None]):
        per_input += int(np.prod(probe.shape[1:]))
        if b is not None:
            probe = _run(children[a:b], probe)
    if per_input * len(x) > max_elements:
        return None
    blocks: dict[int, list[torch.Tensor]] = {i: [] for i in wanted}
    for start in range(0, len(x), row_block):
        h = _run(children[:wanted[0]], network_inputs(x[start:start + row_block], device))
        for a, b in zip(wanted, wanted[1:] + [None]):
            blocks[a].append(h)
            if b is not None:
                h = _run(children[a:b], h)
    by_index = {i: torch.cat(parts) for i, parts in blocks.items()}
    return {layer.name: by_index[layer.mask_index] for layer in layers}


@torch.no_grad()
def lesion_class_correct(
    model: nn.Sequential, layer: UnitLayer, keep_masks, x, y, n_classes: int, device="cpu",
    row_block: int = ROW_BLOCK, max_batch_elements: int = MAX_BATCH_ELEMENTS, outputs: torch.Tensor | None = None,
) -> np.ndarray:
    """Correct test inputs per class after each lesion: ``(n_lesions, n_classes)`` int64.

    ``keep_masks[m, u]`` is False for the units of ``layer`` silenced by lesion
    ``m``. ``x, y`` are the test inputs (``uint8`` images are scaled) and labels.
    ``outputs`` (optional) are the layer's units where they are read, for all of
    ``x`` (:func:`unit_outputs`); without them the prefix runs here.

    Nothing upstream of the lesioned layer changes, so the prefix runs once. When
    the units are read by a Linear (directly or through Flatten) or a Conv2d,
    that layer's lesioned pre-activations are the intact ones minus the silenced
    units' contribution (``z - h_S W_S^T``, or a convolution of the silenced
    channels only), computed for all lesions of one size at once (a batched
    matrix product, or a grouped convolution); only the rest of the network runs
    on every (input, lesion) pair. That sum is rounded differently from the
    masked forward pass, so every pair whose label's logit is within
    :data:`MARGIN_TOLERANCE` (relative) of the best other logit is recomputed by
    the masked forward pass: the counts are those of :func:`lesion_class_correct_naive`.
    Other consumers (none among our architectures) take the masked forward pass
    of the whole suffix on the inputs a lesion affects.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    children = list(model.children())
    prefix, suffix = children[:layer.mask_index], children[layer.mask_index:]
    keep = _as_keep(keep_masks, layer.size, device)
    n_masks = keep.shape[0]
    consumer = _consumer(suffix)
    groups = _size_groups(keep)
    unchanged = keep.all(dim=1)
    y_all = torch.as_tensor(np.asarray(y), device=device).long()
    if len(y_all) and not 0 <= int(y_all.min()) <= int(y_all.max()) < n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1} (n_classes={n_classes}), got {int(y_all.min())}..{int(y_all.max())}")
    if outputs is not None and outputs.shape[0] != len(y_all):
        raise ValueError(f"outputs cover {outputs.shape[0]} inputs but there are {len(y_all)} labels")
    counts = torch.zeros((n_masks, n_classes), dtype=torch.int64, device=device)
    if outputs is not None:
        first, prefix_rows = outputs[:1], 0
    else:  # the prefix runs in chunks whose widest activation has about MAX_BLOCK_ELEMENTS elements
        first, widest = _run_widest(prefix, network_inputs(x[:1], device))
        prefix_rows = max(1, MAX_BLOCK_ELEMENTS // widest)
    row_block = max(1, min(row_block, MAX_BLOCK_ELEMENTS // int(np.prod(first.shape[1:]))))
    for start in range(0, len(y_all), row_block):
        yb = y_all[start:start + row_block]
        if outputs is not None:
            h = outputs[start:start + row_block].to(device)
        else:
            stop = min(start + row_block, len(y_all))
            h = torch.cat([_run(prefix, network_inputs(x[r:min(r + prefix_rows, stop)], device))
                           for r in range(start, stop, prefix_rows)])
        if h.ndim < 2 or h.shape[1] != layer.size:
            raise ValueError(f"layer {layer.name!r}: expected {layer.size} units where they are read, got shape {tuple(h.shape)}")
        if consumer is None:
            base_ok = _correct(suffix, h, yb, max_batch_elements)
            rows, masks = _pairs(_affected(h, keep))
            ok = _lesioned_ok_masked(h, yb, rows, masks, keep, suffix, max_batch_elements)
            counts += torch.bincount(yb[base_ok], minlength=n_classes)[:n_classes]
            counts.index_put_((masks, yb[rows]), ok.long() - base_ok[rows].long(), accumulate=True)
        else:
            z = _consume(consumer, h)
            onehot = nn.functional.one_hot(yb, n_classes).double()  # float64: exact counts, even under TF32
            counts += _lesioned_counts_low_rank(h, z, yb, onehot, groups, keep, suffix, consumer, max_batch_elements)
            if unchanged.any():  # lesions silencing nothing are the intact network
                base_ok = _correct(consumer.rest, z, yb, max_batch_elements)
                counts[unchanged] += torch.bincount(yb[base_ok], minlength=n_classes)[:n_classes]
    return counts.cpu().numpy()


# Gaps between the label's logit and the best other one below this fraction of (1 + |both|) are recomputed exactly.
MARGIN_TOLERANCE = 1e-3


def _correct(modules, h: torch.Tensor, y: torch.Tensor, max_batch_elements: int) -> torch.Tensor:
    """``argmax == y`` of ``modules`` applied to ``h``, in chunks of about ``max_batch_elements`` inputs' elements
    (a whole block at once would allocate, and fault in, hundreds of megabytes per layer)."""
    step = max(1, max_batch_elements // max(1, int(np.prod(h.shape[1:]))))
    parts = [_run(modules, h[s:s + step]).argmax(dim=1) == y[s:s + step] for s in range(0, len(y), step)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.bool, device=h.device)


def _affected(h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``affected[r, m]``: input r has a non-zero unit among those lesion m silences (all others are unchanged)."""
    active = (h != 0).flatten(2).any(dim=2) if h.ndim > 2 else (h != 0)
    return (active.float() @ (~keep).float().T) > 0


def _pairs(affected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, masks) of the affected pairs, grouped by mask."""
    masks, rows = torch.nonzero(affected.T, as_tuple=True)
    return rows, masks


def _size_groups(keep: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Lesions grouped by their number of silenced units: ``(lesion indices, silenced units (G, s))`` per size."""
    sizes = (~keep).sum(dim=1)
    out = []
    for s in torch.unique(sizes).tolist():
        if s == 0:
            continue  # silences nothing: the intact network's counts
        members = torch.nonzero(sizes == s).flatten()
        units = torch.nonzero(~keep[members])[:, 1].view(len(members), s)
        out.append((members, units))
    return out


class _Consumer:
    """The layer reading the units: ``kind`` ``"linear"`` (``spatial`` Flatten columns per unit) or ``"conv"``."""

    def __init__(self, kind: str, module: nn.Module, rest: list[nn.Module], flatten: bool):
        self.kind, self.module, self.rest, self.flatten = kind, module, rest, flatten


def _consumer(suffix: list[nn.Module]) -> _Consumer | None:
    """The Linear (possibly through Flatten) or Conv2d that reads the units, if it takes the low-rank update."""
    if suffix and type(suffix[0]) is nn.Linear:
        return _Consumer("linear", suffix[0], suffix[1:], False)
    if len(suffix) > 1 and type(suffix[0]) is nn.Flatten and suffix[0].start_dim == 1 and type(suffix[1]) is nn.Linear:
        return _Consumer("linear", suffix[1], suffix[2:], True)
    if suffix and type(suffix[0]) is nn.Conv2d and suffix[0].groups == 1 and suffix[0].padding_mode == "zeros":
        return _Consumer("conv", suffix[0], suffix[1:], False)
    return None


def _consume(consumer: _Consumer, h: torch.Tensor) -> torch.Tensor:
    return consumer.module(h.flatten(1) if consumer.flatten else h)


def _lesioned_pre_activations(consumer: _Consumer, h: torch.Tensor, z: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """``(G * R, ...)``, lesion-major: the consumer's output on ``h`` (``z``) minus what the silenced ``units`` add.

    ``units`` ``(G, s)`` are G lesions of s units each; only their s columns
    (or input channels) of the consumer's weight are used.
    """
    g, s = units.shape
    w = consumer.module.weight
    if consumer.kind == "linear":
        spatial = int(np.prod(h.shape[2:])) if h.ndim > 2 else 1
        cols = (units[..., None] * spatial + torch.arange(spatial, device=h.device)).view(g, s * spatial)
        hs = h.flatten(1)[:, cols].transpose(0, 1)  # (G, R, s * spatial)
        out = torch.baddbmm(z.unsqueeze(0).expand(g, *z.shape), hs, w[:, cols].permute(1, 2, 0), alpha=-1)
        return out.flatten(0, 1)
    conv = consumer.module
    # minus the silenced channels' part, added to z in place (z + (-p) is z - p exactly: negation rounds nothing)
    weight = w[:, units].transpose(0, 1).reshape(g * w.shape[0], s, *w.shape[2:]).neg()
    silenced = h[:, units.flatten()]
    if h.device.type == "cpu":  # oneDNN's grouped convolution is about 2x faster channels-last (first CNN layer: -10%)
        silenced, weight = (t.contiguous(memory_format=torch.channels_last) for t in (silenced, weight))
    part = nn.functional.conv2d(silenced, weight, None, conv.stride, conv.padding, conv.dilation, groups=g)
    part = part.view(h.shape[0], g, *z.shape[1:]).add_(z.unsqueeze(1))
    return part.transpose(0, 1).flatten(0, 1)


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


def _correct_and_near_ties(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(argmax == y, near tie)``; the near ties (the label's logit within :data:`MARGIN_TOLERANCE` of the
    best other one) are the pairs whose decision rounding could change. ``logits`` is overwritten."""
    target = logits.gather(1, y[:, None]).squeeze(1)
    if logits.shape[1] == 1:
        return torch.ones_like(target, dtype=torch.bool), torch.zeros_like(target, dtype=torch.bool)
    logits.scatter_(1, y[:, None], float("-inf"))
    other = logits.amax(dim=1)
    gap = target - other
    return gap > 0, gap.abs() < MARGIN_TOLERANCE * (1.0 + target.abs() + other.abs())


def _lesioned_counts_low_rank(h, z, yb, onehot, groups, keep, suffix, consumer: _Consumer, max_batch_elements):
    """Correct inputs per class ``(n_lesions, n_classes)`` of the lesions in ``groups`` on this block of inputs.

    Each (input, lesion) pair: ``z`` minus the silenced units' part, then the
    rest of the network. Lesions of one size run together, in chunks of about
    ``max_batch_elements`` consumer outputs (lesions x rows), which keeps the
    intermediate tensors in the CPU caches; near ties are recomputed by the
    masked forward pass. ``onehot`` ``(rows, classes)`` is ``yb`` one-hot. Rows
    of lesions in no group stay 0.
    """
    n = h.shape[0]
    per_pair = int(np.prod(z.shape[1:]))
    rows_per_chunk = max(1, min(n, max_batch_elements // per_pair))
    lesions_per_chunk = max(1, max_batch_elements // (per_pair * rows_per_chunk))
    counts = torch.zeros((keep.shape[0], onehot.shape[1]), dtype=torch.int64, device=h.device)
    for members, units in groups:
        for g0 in range(0, len(members), lesions_per_chunk):
            m_chunk, u_chunk = members[g0:g0 + lesions_per_chunk], units[g0:g0 + lesions_per_chunk]
            for r0 in range(0, n, rows_per_chunk):
                block = slice(r0, r0 + rows_per_chunk)
                n_rows = h[block].shape[0]
                zl = _lesioned_pre_activations(consumer, h[block], z[block], u_chunk)
                ok, close = _correct_and_near_ties(_run(consumer.rest, zl, owned=True), yb[block].repeat(len(m_chunk)))
                if close.any():
                    pairs = torch.nonzero(close).flatten()
                    rows = pairs % n_rows + r0
                    ok[pairs] = _lesioned_ok_masked(h, yb, rows, m_chunk[pairs // n_rows], keep, suffix, max_batch_elements)
                # sums of at most rows_per_chunk ones: exact integers in float64
                block_counts = ok.view(len(m_chunk), n_rows).to(onehot.dtype) @ onehot[block]
                counts.index_add_(0, m_chunk, block_counts.round().long())
    return counts


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
