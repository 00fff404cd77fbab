"""Device selection: CUDA when available, CPU otherwise."""

from __future__ import annotations

import os

import torch


def select_device(preference: str | None = None) -> torch.device:
    """Return the torch device to use.

    ``preference`` (or the ``NNSTRUCTURE_DEVICE`` environment variable) may be
    ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Asking for CUDA on
    a machine without it is an error rather than a silent fallback.
    """
    pref = (preference or os.environ.get("NNSTRUCTURE_DEVICE") or "auto").lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {pref!r} was requested but CUDA is not available; use device 'auto' or 'cpu'"
        )
    return torch.device(pref)
