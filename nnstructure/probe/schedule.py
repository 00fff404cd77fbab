"""How long probes train: the thesis's epochs (the captions of Tables 5.3-5.10) and our convergence settings.

Networks are named by the table they appear in: ``coinrun-15`` (Tables 5.3 and
5.6), ``coinrun-40`` (5.4, 5.7), ``heist`` (5.5), ``adversarial`` (5.8, 5.9),
``dots`` (5.10, every dots network).

The thesis's epochs are the *minimum*: an Adam probe then runs on, up to
:data:`MAX_EPOCHS`, until its training loss is within :data:`TRAIN_TOL` of the
exact least-squares probe's (:func:`nnstructure.probe.fit.fit_converged_adam_probe`).
These constants live here, free of torch, so the command-line parser can show them.
"""

from __future__ import annotations

#: An Adam probe is converged when its test loss is at most this times the closed-form probe's.
CONVERGED_RATIO = 1.10
#: Learning rates tried for one epoch each before the main run (the thesis's Adam default first).
LR_SWEEP = (1e-3, 3e-3, 1e-2)
#: Epochs an Adam probe may run to reach the closed form.
MAX_EPOCHS = 200
#: Extension stops once the Adam probe's training loss is at most (1 + this) times the closed form's.
TRAIN_TOL = 0.01

NETWORKS = ("coinrun-15", "coinrun-40", "heist", "adversarial", "dots")
TABLES = {
    ("coinrun-15", False): "5.3", ("coinrun-40", False): "5.4", ("heist", False): "5.5",
    ("coinrun-15", True): "5.6", ("coinrun-40", True): "5.7",
    ("adversarial", False): "5.8", ("adversarial", True): "5.9", ("dots", False): "5.10",
}

# (network, filtered) -> (default epochs, {(layer or None for all layers, target): epochs})
_EPOCHS: dict[tuple[str, bool], tuple[int, dict[tuple[int | None, str], int]]] = {
    # Table 5.3: 5 epochs, except layers 2-3 distance and squared distance (10), layer 3 inverse
    # distance (20), layer 4 squared distance (40).
    ("coinrun-15", False): (5, {(2, "distance"): 10, (3, "distance"): 10, (2, "distance_sq"): 10,
                                (3, "distance_sq"): 10, (3, "inv_distance"): 20, (4, "distance_sq"): 40}),
    # Tables 5.4, 5.5, 5.8: 5 epochs, squared distance 10.
    ("coinrun-40", False): (5, {(None, "distance_sq"): 10}),
    ("heist", False): (5, {(None, "distance_sq"): 10}),
    ("adversarial", False): (5, {(None, "distance_sq"): 10}),
    # Tables 5.6 and 5.9: distance 20 (layers 1-2) / 40 (layers 3-4); squared 50 (layer 1) / 30 (layers 2-4).
    ("coinrun-15", True): (0, {(1, "distance"): 20, (2, "distance"): 20, (3, "distance"): 40, (4, "distance"): 40,
                               (1, "distance_sq"): 50, (2, "distance_sq"): 30, (3, "distance_sq"): 30, (4, "distance_sq"): 30}),
    ("adversarial", True): (0, {(1, "distance"): 20, (2, "distance"): 20, (3, "distance"): 40, (4, "distance"): 40,
                                (1, "distance_sq"): 50, (2, "distance_sq"): 30, (3, "distance_sq"): 30, (4, "distance_sq"): 30}),
    # Table 5.7: distance 20 (layers 1-2), 50 (layer 3), 30 (layer 4); squared as Table 5.6.
    ("coinrun-40", True): (0, {(1, "distance"): 20, (2, "distance"): 20, (3, "distance"): 50, (4, "distance"): 30,
                               (1, "distance_sq"): 50, (2, "distance_sq"): 30, (3, "distance_sq"): 30, (4, "distance_sq"): 30}),
    # Table 5.10: 10 epochs.
    ("dots", False): (10, {}),
}


def thesis_probe_epochs(network: str, layer: int, target: str, filtered: bool = False) -> int:
    """Epochs of the thesis's probe for this cell; an error names the cells the thesis has."""
    from nnstructure.probe.targets import get_target

    key = (network, bool(filtered))
    if key not in _EPOCHS:
        raise ValueError(f"the thesis has no {'filtered ' if filtered else ''}probes on network {network!r}; "
                         f"it has {sorted(f'{n} (filtered)' if f else n for n, f in _EPOCHS)}")
    default, special = _EPOCHS[key]
    name = get_target(target).name
    epochs = special.get((int(layer), name), special.get((None, name), default))
    if epochs == 0:
        raise ValueError(f"the thesis's filtered probes on {network!r} cover distance and distance_sq only, not {name!r}")
    return epochs
