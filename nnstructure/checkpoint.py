"""Network checkpoints: weights, pruning masks and a metadata dict that rebuilds the model.

A checkpoint is a ``torch.save`` file holding ``{"format", "version",
"state_dict", "metadata", "masks"}``. ``metadata["spec"]`` is the model spec
(:mod:`nnstructure.models`), so :func:`load_checkpoint` returns a ready model.
Files are written atomically and read with ``weights_only=True`` (no pickled
code is executed). Identical payloads give byte-identical files (the metadata
holds no wall-clock times; training timings live in the metrics table).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from nnstructure.io import ArtifactError, atomic_path

FORMAT = "nnstructure-checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (eval mode), its metadata and pruning masks (if any)."""

    model: nn.Sequential
    metadata: dict
    masks: dict[str, torch.Tensor] | None = field(default=None)
    path: Path | None = None


def save_checkpoint(path: str | os.PathLike, model: nn.Module, metadata: dict, masks: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``model``'s weights with ``metadata`` (must contain ``"spec"``) and optional ``masks`` atomically.

    ``masks`` maps state-dict parameter names (e.g. ``"1.weight"``) to boolean
    keep-masks of the same shape.
    """
    if "spec" not in metadata:
        raise ValueError("checkpoint metadata needs the model 'spec' so the model can be rebuilt")
    metadata = _plain_json(metadata)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": metadata,
        "masks": None if masks is None else {k: v.detach().cpu().bool() for k, v in masks.items()},
    }
    data = checkpoint_bytes(payload)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def checkpoint_bytes(payload: dict) -> bytes:
    """``payload`` serialised by ``torch.save``, identical for identical payloads.

    ``torch.save`` to a file names the zip archive's root folder after the file,
    which for an atomic write is a random temporary name; saved to a buffer the
    archive is always named ``archive``, so equal payloads give equal bytes.
    """
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _plain_json(metadata: dict) -> dict:
    """``metadata`` as plain JSON types (numpy scalars and version objects become numbers/strings)."""
    import json

    from nnstructure.io import json_default

    def default(obj):
        try:
            return json_default(obj)
        except TypeError:
            if isinstance(obj, str):  # str subclasses such as torch's TorchVersion
                return str(obj)
            raise ValueError(f"checkpoint metadata must be JSON-serialisable; got {type(obj).__name__}: {obj!r}")

    return json.loads(json.dumps(metadata, default=default))


def read_checkpoint_payload(path: str | os.PathLike, map_location="cpu") -> dict:
    """The raw checkpoint dict; raises :class:`ArtifactError` for a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"checkpoint {path} does not exist; run `nnstructure train ... --out {path}` to make it")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch/pickle/zip raise many types for a damaged file
        raise ArtifactError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {first_line(exc)}); delete it and rerun training"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not an nnstructure checkpoint; delete it and rerun training")
    if payload.get("version") != VERSION:
        raise ArtifactError(f"checkpoint {path} has format version {payload.get('version')}, expected {VERSION}; delete it and rerun training")
    return payload


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` and rebuild its model in eval mode."""
    return checkpoint_from_payload(read_checkpoint_payload(path, map_location), path, map_location)


def is_checkpoint_payload(payload) -> bool:
    """Whether an object loaded from a file is an nnstructure checkpoint (any version)."""
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def checkpoint_from_payload(payload: dict, path: str | os.PathLike, map_location="cpu") -> Checkpoint:
    """The :class:`Checkpoint` of an already loaded checkpoint dict (``path`` names it in errors)."""
    from nnstructure.models import build_model

    if payload.get("version") != VERSION:
        raise ArtifactError(f"checkpoint {path} has format version {payload.get('version')}, expected {VERSION}; delete it and rerun training")
    metadata = payload["metadata"]
    try:
        model = build_model(metadata["spec"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ArtifactError(
            f"checkpoint {path} does not match its own model spec ({exc}); delete it and rerun training"
        ) from exc
    model.to(map_location).eval()
    return Checkpoint(model=model, metadata=metadata, masks=payload.get("masks"), path=Path(path))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message without terminal colour codes (torch's run to paragraphs)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_metadata(path: str | os.PathLike) -> dict:
    """Only the metadata of a checkpoint (no model is built); same errors as :func:`load_checkpoint`."""
    return read_checkpoint_payload(path)["metadata"]
