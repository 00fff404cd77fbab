"""Device selection (CUDA when available, CPU otherwise), torch's CPU thread count, huge pages and the heap's free pages.

The ``NNSTRUCTURE_DEVICE`` environment variable is read here and nowhere else
(:func:`device_preference`): it is the device of every step whose device is not
given (``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``). torch is imported only
when a device is chosen, so a step that learns it runs on the CPU need not load it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import torch

#: The environment variable that gives the device when none is passed.
DEVICE_ENV = "NNSTRUCTURE_DEVICE"


def device_preference(preference: str | None = None) -> str:
    """``preference``, else ``$NNSTRUCTURE_DEVICE``, else ``"auto"``; in lower case."""
    return (preference or os.environ.get(DEVICE_ENV) or "auto").lower()


#: torch's switch for transparent huge pages under its CPU allocator (read at its first allocation): blocks of 2 MiB
#: and more are ``madvise(MADV_HUGEPAGE)``, so a large activation is faulted in 2 MiB pages, not 4 KiB ones. Where THP is ``madvise`` (this machine, and the default of many distributions) torch never gets them
#: otherwise. The adversarial net's example pass (width 1/8, bf16, batch 256, one thread) took 165 s user and 153 s
#: system time without it, 151 s and 50 s with it: 1.6x less CPU time (README, "Huge pages and the heap").
HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def use_huge_pages() -> None:
    """Ask torch's CPU allocator for transparent huge pages (:data:`HUGE_PAGES_ENV`), unless the environment says otherwise.

    Called when the package is imported, so before torch's first allocation in every step and CLI command.
    """
    os.environ.setdefault(HUGE_PAGES_ENV, "1")


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return getattr(ctypes.CDLL(None), "malloc_trim", None)


def release_freed_heap() -> bool:
    """Give the free pages inside glibc's heap back to the system (``malloc_trim(0)``); True where it ran.

    glibc raises its mmap threshold each time a large block is freed, so later activations of that size come from
    the heap, and when freed they stay with the process. Over a pass through the 561,785 CoinRun training
    transitions (the adversarial net's example pass, float32) that grew a process to 23 GiB; one ``malloc_trim(0)``
    brought it back to 0.32 GiB. The transition reader calls this after each shard, which bounds the retention
    to about one shard's worth. (A fixed 1 MiB mmap threshold bounded it too, but faulted every activation in
    afresh: 13.3 s system time against 6.3 s with the trim, for three epochs of ``make run``'s reward net; README,
    "Huge pages and the heap".)
    Elsewhere than glibc this does nothing.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


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
