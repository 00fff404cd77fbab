"""Finding and loading torchvision-format ImageNet weight files supplied by the user.

Weights are not downloaded: put torchvision's ``.pth`` state dicts in
``DATA_DIR/imagenet/`` (or ``DATA_DIR`` itself). For each architecture the first
existing file among these is used:

1. the file named in ``filenames[arch]`` (any name), if given;
2. ``<arch>.pth`` (e.g. ``resnet18.pth``);
3. torchvision's canonical file names (``TORCHVISION_WEIGHT_FILES``);
4. any other ``<torchvision prefix>-*.pth`` (older torchvision releases), in sorted order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from typing import TYPE_CHECKING

from nnstructure.imagenet.names import IMAGENET_ARCHS, TORCHVISION_WEIGHT_FILES

if TYPE_CHECKING:  # torch is imported where weights are read, so finding files stays light
    import torch
    from torch import nn

_DOWNLOAD_URL = "https://download.pytorch.org/models/"


def _check_arch(arch: str) -> None:
    if arch not in IMAGENET_ARCHS:
        raise ValueError(f"unknown ImageNet architecture {arch!r}; choose one of {', '.join(IMAGENET_ARCHS)}")


def _weight_dirs(data_dir: str | os.PathLike) -> list[Path]:
    data_dir = Path(data_dir)
    return [data_dir / "imagenet", data_dir]


def imagenet_weight_candidates(arch: str, data_dir: str | os.PathLike, filenames: Mapping[str, str] | None = None) -> list[Path]:
    """The paths searched for ``arch``'s weights, in order of preference (existing or not)."""
    _check_arch(arch)
    names = ([filenames[arch]] if filenames and arch in filenames else []) + [f"{arch}.pth", *TORCHVISION_WEIGHT_FILES[arch]]
    prefix = TORCHVISION_WEIGHT_FILES[arch][0].rsplit("-", 1)[0]
    paths = []
    for d in _weight_dirs(data_dir):
        paths += [d / n for n in names]
        paths += sorted(p for p in d.glob(f"{prefix}-*.pth") if p not in paths)
    return paths


def find_imagenet_weights(data_dir: str | os.PathLike, filenames: Mapping[str, str] | None = None) -> dict[str, Path]:
    """``{arch: weight file}`` for every architecture whose weights are present under ``data_dir``."""
    found = {}
    for arch in IMAGENET_ARCHS:
        existing = [p for p in imagenet_weight_candidates(arch, data_dir, filenames) if p.is_file()]
        if existing:
            found[arch] = existing[0]
    return found


def missing_weights_message(arch: str, data_dir: str | os.PathLike) -> str:
    """How to supply ``arch``'s weights (used by errors and by the workflow's "skipped" notes)."""
    folder = Path(data_dir) / "imagenet"
    canonical = TORCHVISION_WEIGHT_FILES[arch][0]
    return (
        f"no weights for {arch}: put {canonical} (from {_DOWNLOAD_URL}{canonical}) or {arch}.pth "
        f"(torchvision.models.{arch}(weights='IMAGENET1K_V1').state_dict() saved with torch.save) in {folder}"
    )


def load_imagenet_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a torchvision-format state dict from ``path`` (tensors only, on CPU)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors come in many types
        raise ValueError(f"cannot read weight file {path} ({exc}); it should be a state_dict saved by torch.save") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"weight file {path} does not hold a state_dict of tensors; save model.state_dict(), not the model")
    return dict(state)


def load_imagenet_weights(
    arch: str, data_dir: str | os.PathLike, filenames: Mapping[str, str] | None = None
) -> nn.Module:
    """``arch`` with the user-supplied torchvision weights from ``data_dir`` loaded strictly, in eval mode."""
    from nnstructure.imagenet.models import build_imagenet_model

    candidates = imagenet_weight_candidates(arch, data_dir, filenames)
    existing = [p for p in candidates if p.is_file()]
    if not existing:
        looked = ", ".join(str(p) for p in candidates)
        raise FileNotFoundError(f"{missing_weights_message(arch, data_dir)}. Looked for: {looked}")
    path = existing[0]
    state = load_imagenet_state_dict(path)
    kwargs = {"aux_logits": any(k.startswith("AuxLogits.") for k in state)} if arch == "inception_v3" else {}
    model = build_imagenet_model(arch, **kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"weight file {path} does not fit torchvision's {arch}: {exc}") from exc
    return model.eval()


def imagenet_spec(arch: str, aux_logits: bool = False) -> dict:
    """The model spec of a torchvision-layout ImageNet network (what checkpoints store to rebuild it)."""
    _check_arch(arch)
    size = 299 if arch == "inception_v3" else 224
    spec = {"arch": "imagenet", "name": arch, "input_shape": [3, size, size], "n_outputs": 1000}
    if arch == "inception_v3":
        spec["kwargs"] = {"aux_logits": bool(aux_logits)}
    return spec


def import_pretrained(arch: str, weights: str | os.PathLike, out: str | os.PathLike, extra_metadata: Mapping | None = None) -> dict:
    """Convert a torchvision weight file of ``arch`` into one of our checkpoints at ``out``; return its metadata.

    The weights are loaded strictly into the architecture (a file for another
    architecture is refused), so later steps (graphs, clusterings, lesions) read
    pretrained networks exactly as they read trained ones.
    """
    import hashlib

    import torch

    from nnstructure.checkpoint import save_checkpoint
    from nnstructure.imagenet.models import build_imagenet_model

    weights = Path(weights)
    state = load_imagenet_state_dict(weights)
    aux = any(k.startswith("AuxLogits.") for k in state)
    spec = imagenet_spec(arch, aux_logits=aux)
    model = build_imagenet_model(arch, **spec.get("kwargs", {}))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"weight file {weights} does not fit torchvision's {arch}: {exc}") from exc
    digest = hashlib.sha256()
    with open(weights, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    metadata = {
        "spec": spec, "dataset": "imagenet", "task": "classification", "phase": "pretrained", "seed": 0,
        "weights_file": weights.name, "weights_sha256": digest.hexdigest(),
        "versions": {"torch": str(torch.__version__)}, **dict(extra_metadata or {}),
    }
    save_checkpoint(out, model, metadata)
    return metadata
