"""The edge weight between two channels of a convolutional layer: a norm of a 2-D kernel slice.

For input channel ``i`` and output channel ``o`` the edge weight is a norm of
``weight[o, i]``: ``"l1"`` (thesis text, sum of ``|k|``), ``"l1-matrix"``
(original code: ``numpy.linalg.norm(|slice|, 1)``, the largest column sum),
``"l2"`` (Frobenius, thesis footnote 2) or ``"l2-matrix"`` (original code's
``norm=2``: the spectral norm). Both graph constructions (the layered one of
:mod:`nnstructure.graph.weights` and the dataflow one of
:mod:`nnstructure.graph.dataflow`) use these.
"""

from __future__ import annotations

import numpy as np

KERNEL_NORMS = ("l1", "l1-matrix", "l2", "l2-matrix")


def check_kernel_norm(kernel_norm: str) -> None:
    """Raise ``ValueError`` unless ``kernel_norm`` is one of :data:`KERNEL_NORMS`."""
    if kernel_norm not in KERNEL_NORMS:
        raise ValueError(f"unknown kernel_norm {kernel_norm!r}; choose one of {', '.join(KERNEL_NORMS)}")


def kernel_slice_norms(kernel: np.ndarray, kernel_norm: str) -> np.ndarray:
    """Norms of every 2-D slice of a conv kernel ``(out, in, kh, kw)``, shape ``(in, out)``."""
    check_kernel_norm(kernel_norm)
    k = np.abs(np.asarray(kernel, dtype=np.float64))
    if kernel_norm == "l1":
        norms = k.sum(axis=(2, 3))
    elif kernel_norm == "l1-matrix":
        norms = k.sum(axis=2).max(axis=2)  # sum over kernel rows, max over columns
    elif kernel_norm == "l2":
        norms = np.sqrt((k**2).sum(axis=(2, 3)))
    else:  # "l2-matrix"
        norms = np.linalg.norm(k, ord=2, axis=(2, 3))  # largest singular value
    return norms.T
