"""One kind of parallelism for clustering: worker processes, each single-threaded.

A clustering is a few dozen milliseconds of small BLAS calls and scikit-learn's
OpenMP Lloyd loop on a couple of thousand points. Threads do not pay there
(measured: two OpenMP threads on a loaded machine cost several times the CPU
of one), so every clustering runs with BLAS and OpenMP limited to one thread
(:func:`single_threaded`), and many graphs (the shuffles) are spread over
processes (:func:`process_map`). On Linux the processes are forked, so they
start in milliseconds with every module and the graph already loaded (a spawned
worker imports NumPy, SciPy, pandas and scikit-learn again: about a CPU-second
each, as long as a whole 20-shuffle job's clustering); elsewhere joblib's
process pool is used.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from typing import Callable, Sequence

_CONTROLLER = None


def single_threaded():
    """A context in which BLAS and OpenMP use one thread (a cached controller: microseconds per use)."""
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl ships with scikit-learn; without it, leave the pools as they are
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        # scikit-learn's k-means loads its own OpenMP runtime: load it first, so the limit covers it
        import sklearn.cluster._k_means_lloyd  # noqa: F401

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


# The task of the forked workers, set in the parent just before forking (inherited, never pickled).
_TASK: Callable | None = None


def _run_task(item):
    return _TASK(item)


def process_map(function: Callable, items: Sequence, n_processes: int) -> list:
    """``[function(item) for item in items]`` on ``n_processes`` single-threaded worker processes.

    ``function`` may be a closure (it is inherited by forked workers, not
    pickled); with ``n_processes <= 1`` or one item it runs here.
    """
    items = list(items)
    n_processes = max(1, min(int(n_processes), len(items)))
    if n_processes == 1:
        with single_threaded():
            return [function(item) for item in items]
    if sys.platform.startswith("linux"):
        global _TASK
        _TASK = function
        try:
            with single_threaded():  # the forked workers inherit the one-thread limits
                with multiprocessing.get_context("fork").Pool(n_processes) as pool:
                    return pool.map(_run_task, items, chunksize=1)
        finally:
            _TASK = None
    from joblib import Parallel, delayed

    def run_one_threaded(item):
        with single_threaded():
            return function(item)

    return Parallel(n_jobs=n_processes)(delayed(run_one_threaded)(item) for item in items)
