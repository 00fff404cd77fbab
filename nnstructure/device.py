"""Device selection (CUDA when available, CPU otherwise) and torch's CPU thread count.

The ``NNSTRUCTURE_DEVICE`` environment variable is read here and nowhere else
(:func:`device_preference`): it is the device of every step whose device is not
given (``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``). torch is imported only
when a device is chosen, so a step that learns it runs on the CPU need not load it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import torch

#: The environment variable that gives the device when none is passed.
DEVICE_ENV = "NNSTRUCTURE_DEVICE"


def device_preference(preference: str | None = None) -> str:
    """``preference``, else ``$NNSTRUCTURE_DEVICE``, else ``"auto"``; in lower case."""
    return (preference or os.environ.get(DEVICE_ENV) or "auto").lower()


def select_device(preference: str | None = None) -> "torch.device":
    """Return the torch device to use.

    ``preference`` (or the ``NNSTRUCTURE_DEVICE`` environment variable) may be
    ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Asking for CUDA on
    a machine without it is an error rather than a silent fallback.
    """
    import torch

    pref = device_preference(preference)
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {pref!r} was requested but CUDA is not available; use device 'auto' or 'cpu'"
        )
    return torch.device(pref)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch using ``threads`` CPU threads, then restore the previous count.

    ``None`` or 0 leaves the thread count as it is.
    """
    if not threads:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
