"""A layer's weights as the graph reads them: float64, with float32 denormals as zeros.

The thesis's networks were trained in TensorFlow, which flushes float32 denormals (magnitudes below
``numpy.finfo(numpy.float32).tiny``, about 1.2e-38) to zero on CPUs and GPUs. PyTorch keeps them. A
unit that never fires gets no gradient but its L1 or L2 penalty's, which shrinks its weights towards
zero; in TensorFlow they end at exactly 0, so the unit has no edge and is no vertex of the graph
(thesis 3.2: "each neuron with any incoming or outgoing non-zero weights"); here they would end as
denormals, and spectral clustering would spend clusters on such near-isolated units (FIDELITY.md,
group A). Reading denormals as zeros gives the graph TensorFlow's arithmetic would have stored.
Weights of normal magnitude, however small, are read as they are.
"""

from __future__ import annotations

import numpy as np

#: The smallest normal float32 magnitude; below it a weight is a denormal, stored as 0 by TensorFlow.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def stored_weights(weight) -> np.ndarray:
    """``weight`` (a tensor or array) as a float64 array, with its float32 denormals set to 0."""
    if hasattr(weight, "detach"):
        weight = weight.detach().cpu().double().numpy()
    w = np.array(weight, dtype=np.float64)
    w[np.abs(w) < FLOAT32_TINY] = 0.0
    return w
