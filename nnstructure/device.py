"""Device selection (CUDA when available, CPU otherwise), torch's CPU thread count, huge pages and the heap's retention.

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


#: torch's switch for transparent huge pages under its CPU allocator (read at its first allocation): blocks of 2 MiB
#: and more are 2 MiB-aligned and ``madvise(MADV_HUGEPAGE)``, so a large activation is faulted in 2 MiB pages, not
#: 4 KiB ones. Where THP is ``madvise`` (this machine, and the default of many distributions) torch never gets them
#: otherwise. The adversarial net's example pass (width 1/8, bf16, batch 256, one thread) took 165 s user and 153 s
#: system time without it, 151 s and 50 s with it: 1.6x less CPU time (README, "Huge pages").
HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"


def use_huge_pages() -> None:
    """Ask torch's CPU allocator for transparent huge pages (:data:`HUGE_PAGES_ENV`), unless the environment says otherwise.

    Called when the package is imported, so before torch's first allocation in every step and CLI command.
    """
    os.environ.setdefault(HUGE_PAGES_ENV, "1")


#: glibc's ``M_MMAP_THRESHOLD`` (``mallopt``), fixed by :func:`bound_heap_retention`; and its environment variable.
MMAP_THRESHOLD = 1 << 20
MMAP_THRESHOLD_ENV = "MALLOC_MMAP_THRESHOLD_"
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_heap_bounded: bool | None = None


def bound_heap_retention() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` (1 MiB), once per process; True where it is set.

    glibc raises the threshold each time a large block is freed, so later activations of that size come from the
    heap and stay with the process when freed. A pass over the 561,785 CoinRun training transitions (the
    adversarial net's example pass) grew a process to 23 GiB that way; with the threshold fixed, the same loop on 6
    shards stays at 0.32 GiB, and training runs at the same speed (90.6 and 92.8 against 89.9 and 91.9 samples per
    CPU-second, width 1/8, bf16). A threshold given in ``$MALLOC_MMAP_THRESHOLD_`` is left as it is; elsewhere than
    glibc this does nothing.
    """
    global _heap_bounded
    if _heap_bounded is None:
        _heap_bounded = False
        if MMAP_THRESHOLD_ENV not in os.environ:
            import ctypes
            import sys

            if sys.platform.startswith("linux"):
                mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
                _heap_bounded = bool(mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _heap_bounded


def select_device(preference: str | None = None) -> "torch.device":
    """Return the torch device to use.

    ``preference`` (or the ``NNSTRUCTURE_DEVICE`` environment variable) may be
    ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Asking for CUDA on
    a machine without it is an error rather than a silent fallback.
    """
    import torch

    bound_heap_retention()
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
