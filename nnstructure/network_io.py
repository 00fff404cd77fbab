"""Networks from files: our checkpoints and networks saved by other code.

:func:`load_network` reads, in this order of detection:

1. **nnstructure checkpoints** (:mod:`nnstructure.checkpoint`): the model is
   rebuilt from its spec; the metadata is the checkpoint's (dataset, training
   settings, metrics).
2. **TorchScript files** (``torch.jit.script(model).save(path)`` or
   ``torch.jit.trace``). A *scripted* ``nn.Sequential`` of Linear, Conv2d,
   BatchNorm1d/2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Flatten and Dropout layers is rebuilt as
   the equal eager ``nn.Sequential`` (TorchScript keeps every layer setting),
   so the weight-graph analyses work on it. Anything else (a traced module,
   whose layer settings are not stored, or other layer types) is returned as
   the loaded ``ScriptModule``, which evaluates; :func:`load_sequential`
   rebuilds a traced plain Linear/Conv2d stack from its weights as for a state
   dict (below), which is exact for the weight graph.
3. **State dicts** (``torch.save(model.state_dict(), path)``, also wrapped as
   ``{"state_dict": ...}`` or ``{"model_state_dict": ...}``) of a plain stack of
   Linear and Conv2d layers, optionally each followed by a BatchNorm. Layer
   sizes come from the tensor shapes, in the state dict's order (PyTorch's
   registration order). Rebuilt as an ``nn.Sequential`` with a ReLU after
   every weight layer but the last (after its BatchNorm, if any) and a Flatten
   before the first Linear layer (after the last Conv2d, or at the start of an
   MLP, which so takes images as our MLPs do). Assumed, because a state dict
   does not store them: convolutions have stride 1, no padding, no dilation and
   no grouping; there is no pooling and no dropout; batch norms use eps 1e-5.
   The weight graph uses only the weights (and the batch norms' statistics), so
   it is exact whatever these settings were; a forward pass (``evaluate``) is
   exact for MLPs and for CNNs that match the assumptions. A state dict laid
   out exactly as our reward net (3x3 convolutions at positions 0, 2, ..., a
   linear head at 2k+2 taking the last conv's channels, as
   ``build_reward_net(...).state_dict()``) is rebuilt as that reward net
   (padding 1, global average pooling), with its spec.
4. **Pickled modules** (``torch.save(model, path)``) only with
   ``allow_pickle=True``: unpickling runs code from the file, so it is refused
   by default. The class must be importable here.

Any other file raises :class:`NetworkFormatError` with one line that lists the
accepted formats. Models are returned on the CPU in eval mode. Every command
that takes a network reads it here: command-line tools add
:func:`add_allow_pickle_option` and call :func:`load_network` (or
:func:`load_sequential` where a weight graph or a layer-by-layer pass is
needed), then :func:`check_network_inputs` with their inputs (or
:func:`load_checked_network`, both at once): one forward pass, whose failure
says, in one line, which input shape the network expects and which it was given.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a network is read, so `import` of this module stays cheap
    import torch
    from torch import nn

ACCEPTED_FORMATS = (
    "an nnstructure checkpoint, a TorchScript file, a state dict of a plain Linear/Conv2d stack, "
    "or a pickled nn.Module (only with --allow-pickle)"
)

STATE_DICT_ASSUMPTIONS = (
    "rebuilt from a state dict: ReLU after every weight layer but the last, Flatten before the first Linear (after "
    "the last Conv2d, or first of all in an MLP); convolutions stride 1, no padding; no pooling or dropout; "
    "batch-norm eps 1e-5"
)

REWARD_LAYOUT_ASSUMPTIONS = (
    "rebuilt from a state dict laid out as the reward net (thesis 5.3): 3x3 convolutions with stride 1 and padding 1, "
    "a ReLU after each, global average pooling, a linear head; 64x64 inputs recorded (any size runs)"
)

_BATCHNORM_KEYS = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


class NetworkFormatError(ValueError):
    """A file is not a network in a format :func:`load_network` reads (the message is one line)."""


class NetworkInputError(ValueError):
    """A network does not run on the inputs a command gives it (the message is one line)."""


def load_network(path: str | os.PathLike, allow_pickle: bool = False) -> tuple[nn.Module, dict]:
    """The network stored at ``path`` and its metadata, whatever the accepted format.

    Returns ``(model, metadata)``; ``metadata["network_format"]`` is one of
    ``"nnstructure checkpoint"``, ``"torchscript"``, ``"state dict"`` or
    ``"pickled module"``. For our checkpoints the rest of ``metadata`` is the
    checkpoint's own; state dicts add ``"assumed"`` (what the rebuild assumed).
    Raises ``FileNotFoundError`` for a missing file and
    :class:`NetworkFormatError` (one line) for a file in no accepted format.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"network file {path} does not exist; check the path")
    if _is_torchscript(path):
        return _load_torchscript(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not str(exc).startswith("Weights only load failed"):
            raise _not_a_network(path) from exc
        # Readable, but only by running pickled code: a whole module saved with torch.save(model).
        if not allow_pickle:
            raise NetworkFormatError(
                f"{path} holds pickled Python objects (a whole module saved with torch.save(model)); unpickling runs "
                "code from the file, so pass --allow-pickle (allow_pickle=True) only if you trust it, or save "
                "model.state_dict() or a TorchScript file instead"
            ) from exc
        obj = _unpickle(path)
    except Exception as exc:  # truncated zips, text files and other non-torch files fail in many ways
        raise _not_a_network(path) from exc
    return _from_object(obj, path)


def _not_a_network(path: Path) -> NetworkFormatError:
    return NetworkFormatError(f"{path} is not a network file this tool reads; accepted: {ACCEPTED_FORMATS}")


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") or "/code/__torch__/" in name for name in archive.namelist())


def _unpickle(path: Path):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ModuleNotFoundError) as exc:
        raise NetworkFormatError(
            f"{path} pickles a class that cannot be imported here ({exc}); save the model as TorchScript "
            "(torch.jit.script(model).save(path)) or save its state_dict() instead"
        ) from exc


def _from_object(obj, path: Path) -> tuple[nn.Module, dict]:
    from torch import nn

    from nnstructure.checkpoint import checkpoint_from_payload, is_checkpoint_payload

    if is_checkpoint_payload(obj):
        ckpt = checkpoint_from_payload(obj, path)
        return ckpt.model, {**ckpt.metadata, "network_format": "nnstructure checkpoint", "path": str(path)}
    if isinstance(obj, nn.Module):
        return obj.cpu().eval(), {"network_format": "pickled module", "class": _class_name(obj), "path": str(path)}
    if isinstance(obj, dict) and obj.get("format") == "nnstructure-resume":
        raise NetworkFormatError(
            f"{path} is the resume state of an unfinished training run; rerun that training to finish it and use its checkpoint"
        )
    state = _unwrap_state_dict(obj)
    if state is None:
        raise _not_a_network(path)
    model, rebuilt = sequential_from_state_dict(state, path)
    return model, {"network_format": "state dict", **rebuilt, "path": str(path)}


def _class_name(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _unwrap_state_dict(obj) -> dict[str, torch.Tensor] | None:
    import torch

    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        if obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
            return obj
    return None


def sequential_from_state_dict(state: dict[str, torch.Tensor], path: str | os.PathLike = "<state dict>"
                               ) -> tuple[nn.Sequential, dict]:
    """The network of a state dict and what its rebuild assumed: ``(model, {"assumed": ..., ["spec": ...]})``.

    A state dict laid out exactly as our reward net (:func:`reward_layout_spec`)
    is rebuilt as one (with its spec, so probes can draw a random baseline of
    it); any other is a plain Linear/Conv2d stack (:func:`state_dict_sequential`).
    """
    from nnstructure.models import build_model

    spec = reward_layout_spec(state)
    if spec is not None:
        model = build_model(spec, seed=0)
        _load(model, state, f"{path}: reward-net layout")
        return model.eval(), {"assumed": REWARD_LAYOUT_ASSUMPTIONS, "spec": spec}
    return state_dict_sequential(state, path), {"assumed": STATE_DICT_ASSUMPTIONS}


def reward_layout_spec(state: dict[str, torch.Tensor]) -> dict | None:
    """The reward-net spec (:mod:`nnstructure.models.reward`) whose state dict has exactly these keys and
    shapes, or None: 3x3 convolutions at ``nn.Sequential`` positions 0, 2, ..., 2(k-1) (a ReLU after each),
    then, after the global average pool and flatten, a Linear at position 2k+2 taking the last conv's channels.
    A plain stack cannot be read so: a Linear on a flattened conv output needs channels x height x width inputs.
    """
    from nnstructure.models import build_model, reward_net_spec

    groups: OrderedDict[str, dict] = OrderedDict()
    for key, tensor in state.items():
        prefix, _, param = key.rpartition(".")
        groups.setdefault(prefix, {})[param] = tensor
    if not all(p.isdigit() for p in groups) or len(groups) < 2:
        return None
    layers = [(int(p), params.get("weight")) for p, params in groups.items()]
    *convs, (head_pos, head) = layers
    if head is None or head.dim() != 2 or any(w is None or w.dim() != 4 or tuple(w.shape[2:]) != (3, 3) for _, w in convs):
        return None
    if [p for p, _ in convs] != list(range(0, 2 * len(convs), 2)) or head_pos != 2 * len(convs) + 2:
        return None
    if head.shape[1] != convs[-1][1].shape[0]:
        return None
    spec = reward_net_spec(input_shape=(convs[0][1].shape[1], 64, 64), n_outputs=head.shape[0],
                           channels=[w.shape[0] for _, w in convs])
    expected = build_model(spec, seed=0).state_dict()
    if {k: tuple(v.shape) for k, v in expected.items()} != {k: tuple(v.shape) for k, v in state.items()}:
        return None
    return spec


def state_dict_sequential(state: dict[str, torch.Tensor], path: str | os.PathLike = "<state dict>") -> nn.Sequential:
    """An ``nn.Sequential`` of Linear/Conv2d layers (each optionally followed by a BatchNorm) from a state dict.

    See the module docstring for what is assumed; raises :class:`NetworkFormatError`
    for entries that are not such a stack or layer sizes that do not chain.
    """
    from torch import nn

    groups: OrderedDict[str, dict[str, torch.Tensor]] = OrderedDict()
    for key, tensor in state.items():
        prefix, _, param = key.rpartition(".")
        groups.setdefault(prefix, {})[param] = tensor
    plain = f"a state dict is read only for a plain stack of Linear/Conv2d layers (each optionally followed by a BatchNorm); {ACCEPTED_FORMATS}"
    layers: list[nn.Module] = []
    last_kind, last_width = None, None  # "linear" / "conv" and its output count
    for prefix, params in groups.items():
        where = f"{path}: layer {prefix or '(top level)'!r}"
        if "running_mean" in params:
            if set(params) - _BATCHNORM_KEYS or last_kind is None:
                raise NetworkFormatError(f"{where} is a batch norm that does not follow a Linear/Conv2d layer; {plain}")
            n = params["running_mean"].numel()
            if n != last_width:
                raise NetworkFormatError(f"{where} normalises {n} features but the layer before it has {last_width} outputs")
            bn = (nn.BatchNorm2d if last_kind == "conv" else nn.BatchNorm1d)(n, affine="weight" in params)
            _load(bn, params, where)
            layers.append(bn)
            continue
        weight = params.get("weight")
        if weight is None or set(params) - {"weight", "bias"} or weight.dim() not in (2, 4):
            raise NetworkFormatError(f"{where} has entries {sorted(params)} (weight shape {_shape(weight)}); {plain}")
        if layers:
            layers.append(nn.ReLU())
        bias = "bias" in params
        if weight.dim() == 4:
            if last_kind == "linear":
                raise NetworkFormatError(f"{where} is a Conv2d after a Linear layer; {plain}")
            out_c, in_c, kh, kw = weight.shape
            if last_kind == "conv" and in_c != last_width:
                raise NetworkFormatError(f"{where} takes {in_c} channels but the conv before it makes {last_width}")
            layer: nn.Module = nn.Conv2d(in_c, out_c, (kh, kw), bias=bias)
            last_kind, last_width = "conv", out_c
        else:
            out_f, in_f = weight.shape
            if last_kind is None:
                layers.append(nn.Flatten())  # an MLP: each example's values in one row, whatever their shape
            elif last_kind == "conv":
                if in_f % last_width:
                    raise NetworkFormatError(f"{where} takes {in_f} inputs, not a multiple of the {last_width} channels before it")
                layers.append(nn.Flatten())
            elif last_kind == "linear" and in_f != last_width:
                raise NetworkFormatError(f"{where} takes {in_f} inputs but the layer before it has {last_width} outputs")
            layer = nn.Linear(in_f, out_f, bias=bias)
            last_kind, last_width = "linear", out_f
        _load(layer, params, where)
        layers.append(layer)
    if not layers:
        raise NetworkFormatError(f"{path} is an empty state dict; {ACCEPTED_FORMATS}")
    return nn.Sequential(*layers).eval()


def expected_input_shape(model: nn.Module, metadata: dict | None = None) -> str | None:
    """The inputs ``model`` takes, in words: its spec's input shape, else what its first layers say (or None)."""
    from torch import nn

    spec = (metadata or {}).get("spec") or {}
    if spec.get("input_shape"):
        return f"shape {list(spec['input_shape'])}"
    flattened = False
    for layer in model.modules():
        if isinstance(layer, nn.Flatten):
            flattened = True
        elif isinstance(layer, nn.Linear):
            return f"{layer.in_features} values each (any shape, flattened)" if flattened else f"shape [{layer.in_features}]"
        elif isinstance(layer, nn.Conv2d):
            return f"shape [{layer.in_channels}, height, width]"
    return None


def check_network_inputs(model: nn.Module, inputs, source: str, metadata: dict | None = None) -> None:
    """Run ``model`` once on the first two of ``inputs`` (an ``[N, ...]`` array or tensor), on the model's device.

    Raises :class:`NetworkInputError` (one line) when they do not fit, saying
    which input shape the network expects and which ``source`` (e.g.
    ``"dataset 'mnist'"``) gives it. The model's train/eval mode is kept (the
    pass runs in eval mode, so batch-norm statistics do not change).
    """
    import numpy as np
    import torch

    x = torch.as_tensor(np.asarray(inputs[:2])).float()
    parameter = next(iter(model.parameters()), None)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x.to(parameter.device) if parameter is not None else x)
    except (RuntimeError, ValueError) as exc:
        expected = expected_input_shape(model, metadata)
        raise NetworkInputError(
            f"the network does not run on the inputs of {source}, of shape {list(x.shape[1:])} each: it expects "
            f"{expected or 'other inputs'} ({str(exc).strip().splitlines()[0]})"
        ) from exc
    finally:
        model.train(training)


def load_checked_network(path: str | os.PathLike, inputs, source: str, allow_pickle: bool = False,
                         sequential: bool = False) -> tuple[nn.Module, dict]:
    """:func:`load_network` (:func:`load_sequential` if ``sequential``), then :func:`check_network_inputs`
    on ``inputs`` from ``source``: the network, its metadata, and one-line errors for a file in no accepted
    format or a network that does not take these inputs."""
    model, meta = (load_sequential if sequential else load_network)(path, allow_pickle=allow_pickle)
    check_network_inputs(model, inputs, source, meta)
    return model, meta


def _shape(tensor) -> str:
    return "none" if tensor is None else "x".join(map(str, tensor.shape)) or "scalar"


def _load(module: nn.Module, params: dict[str, torch.Tensor], where: str) -> None:
    try:
        module.load_state_dict({k: v.detach().cpu() for k, v in params.items()})
    except RuntimeError as exc:
        raise NetworkFormatError(f"{where} does not fit a {type(module).__name__}: {str(exc).splitlines()[-1].strip()}") from exc


# --- TorchScript ------------------------------------------------------------------------------


def _load_torchscript(path: Path) -> tuple[nn.Module, dict]:
    import torch

    try:
        scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # a damaged archive
        raise _not_a_network(path) from exc
    model = _eager_sequential(scripted)
    meta = {"network_format": "torchscript", "path": str(path), "rebuilt_as_sequential": model is not None}
    return (model if model is not None else scripted).eval(), meta


def _eager_sequential(scripted) -> nn.Sequential | None:
    """The eager ``nn.Sequential`` equal to a scripted one, or None if it cannot be rebuilt exactly."""
    from torch import nn

    if getattr(scripted, "original_name", None) != "Sequential":
        return None
    layers = OrderedDict()
    for name, child in scripted.named_children():
        try:
            layer = _eager_layer(child)
        except AttributeError:  # a traced module: layer settings were not kept
            return None
        if layer is None:
            return None
        layer.load_state_dict(child.state_dict())
        layers[name] = layer
    return nn.Sequential(layers) if layers else None


def _eager_layer(c) -> nn.Module | None:
    from torch import nn

    from nnstructure.train.precision import Float32Linear, Float32SpatialMean

    kind = c.original_name
    if kind == "Linear":
        return nn.Linear(c.in_features, c.out_features, bias=c.bias is not None)
    if kind == "Float32Linear":  # the reward net's head (float32 under autocast)
        return Float32Linear(c.in_features, c.out_features, bias=c.bias is not None)
    if kind == "Float32SpatialMean":
        return Float32SpatialMean(c.output_size)
    if kind == "Conv2d":
        return nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, stride=c.stride, padding=c.padding,
                         dilation=c.dilation, groups=c.groups, bias=c.bias is not None, padding_mode=c.padding_mode)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(nn, kind)(c.num_features, eps=c.eps, momentum=c.momentum, affine=c.affine,
                                 track_running_stats=c.track_running_stats)
    if kind == "ReLU":
        return nn.ReLU()
    if kind == "MaxPool2d":
        return nn.MaxPool2d(c.kernel_size, stride=c.stride, padding=c.padding, dilation=c.dilation, ceil_mode=c.ceil_mode)
    if kind == "Flatten":
        return nn.Flatten(c.start_dim, c.end_dim)
    if kind == "AdaptiveAvgPool2d":
        return nn.AdaptiveAvgPool2d(c.output_size)
    if kind == "Dropout":
        return nn.Dropout(c.p)
    return None


def load_sequential(path: str | os.PathLike, allow_pickle: bool = False) -> tuple[nn.Sequential, dict]:
    """:func:`load_network`, for analyses that need an ``nn.Sequential`` (weight graphs).

    Raises :class:`NetworkFormatError` (one line) when the file holds another
    kind of module, saying how to save it so that it can be read.
    """
    from torch import nn

    model, meta = load_network(path, allow_pickle=allow_pickle)
    if isinstance(model, nn.Sequential):
        return model, meta
    if meta["network_format"] == "torchscript":
        # A traced module keeps its weights but not its layer settings: rebuild the
        # weight layers as from a state dict (exact for the weight graph).
        try:
            rebuilt, how = sequential_from_state_dict(model.state_dict(), path)
        except NetworkFormatError:
            rebuilt = None
        if rebuilt is not None:
            return rebuilt, {**meta, **how}
        hint = ("its layers are not a plain Linear/Conv2d stack: save torch.jit.script(model) of an nn.Sequential "
                "of supported layers instead")
    else:
        hint = "wrap its layers in an nn.Sequential, or save its state_dict() of a plain Linear/Conv2d stack"
    raise NetworkFormatError(f"{path} holds a {type(model).__name__}, but this analysis needs an nn.Sequential; {hint}")


def add_allow_pickle_option(parser) -> None:
    """The ``--allow-pickle`` flag of every subcommand that reads a network file."""
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also read a whole module saved with torch.save(model); this runs code from the file, "
                             "so use it only for files you trust")
