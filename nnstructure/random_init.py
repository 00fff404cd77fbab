"""Randomly initialised, never trained networks (thesis Figures A.1-A.3), built from their dataset's shape alone.

The weights are exactly those training starts from (:func:`nnstructure.train.train_from_settings`
with zero epochs): the same spec, initialised from ``derive_seed(seed, "init")`` and, with clusterable
initialisation, reshaped the same way. No data is read, so a random-init VGG needs no CIFAR-10 and the
checkpoint has no accuracies or losses (an untrained network's are chance level).
"""

from __future__ import annotations

import os

import numpy as np


def random_init_network(arch: str, dataset: str, settings: dict, seed: int, out: str | os.PathLike) -> dict:
    """Build the network ``arch`` for ``dataset``'s inputs and outputs, initialise it as training would, save it.

    ``settings`` are the flat training settings (:func:`nnstructure.train.config.split_settings`: only the
    model and initialisation ones matter). Returns the checkpoint's metadata (phase ``"init"``).
    """
    import torch

    import nnstructure
    from nnstructure.checkpoint import save_checkpoint
    from nnstructure.data.registry import dataset_shape
    from nnstructure.models import build_model, model_spec, n_parameters
    from nnstructure.seeding import derive_seed
    from nnstructure.train.clusterable_init import DEFAULT_BETA, clusterable_init_
    from nnstructure.train.config import split_settings
    from nnstructure.train.pruning import kernel_sparsity

    config, model_settings = split_settings({**settings, "epochs": 0, "prune_epochs": 0})
    shape = dataset_shape(dataset)
    spec = model_spec(arch, shape.input_shape, shape.n_outputs, widths=model_settings.widths,
                      dropout=float(model_settings.dropout or 0.0))
    seed = int(seed)
    model = build_model(spec, seed=derive_seed(seed, "init"))
    if config.clusterable_init:
        beta = config.ci_beta if config.ci_beta is not None else DEFAULT_BETA[spec["arch"]]
        clusterable_init_(model, config.ci_groups, beta, torch.Generator().manual_seed(derive_seed(seed, "clusterable-init")))
    meta = {
        "spec": spec, "dataset": dataset, "task": shape.task, "train_config": config.to_dict(), "seed": seed,
        "device": "cpu",  # built and initialised on the CPU, whatever the workflow's device
        "versions": {"torch": str(torch.__version__), "numpy": np.__version__, "nnstructure": nnstructure.__version__},
        "phase": "init", "epochs_trained": 0, "metrics": [],
        "sparsity": kernel_sparsity(model), "n_parameters": n_parameters(model),
    }
    save_checkpoint(out, model, meta)
    return meta
