"""Results rows: one function builds each kind of row, so a row records every setting that produced it.

A row is a flat dict (one Parquet row) made of:

* the identifying labels the workflow gives it (analysis entry, network set,
  condition, seed, phase and the thesis-table keys arch/dataset/reg/init/...);
* :func:`network_columns`: the network's settings and metrics read from its
  checkpoint (training settings, dropout, widths, the device it was trained
  on, accuracies, losses, sparsity), so two rows from differently trained
  networks can never look alike;
* the analysis's own settings and measurements.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

#: Training-setting columns that would clash with analysis columns get this prefix.
_RENAMED = {"shuffle": "train_shuffle"}


def network_columns(metadata: dict) -> dict[str, Any]:
    """Settings and metrics of the network a row describes, from its checkpoint metadata."""
    spec = metadata.get("spec") or {}
    cols: dict[str, Any] = {}
    for key, value in (metadata.get("train_config") or {}).items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        cols[_RENAMED.get(key, key)] = value
    cols["dropout"] = float(spec.get("dropout", 0.0) or 0.0)
    cols["widths"] = ",".join(str(w) for w in spec["widths"]) if spec.get("widths") else None
    cols["network_phase"] = metadata.get("phase")
    cols["train_device"] = metadata.get("device")
    if metadata.get("weights_sha256"):
        cols["weights_sha256"] = metadata["weights_sha256"]
    cols.update(network_metrics(metadata))
    return cols


def clusterability_row(
    labels: dict,
    clustering: dict,
    summary: dict,
    shuffled: Sequence[float] | None,
    network_metadata: dict,
    shuffle_device: str | None = None,
) -> dict[str, Any]:
    """The chapter-3 row of one network phase and clustering setting.

    ``labels`` are the identifying columns; ``clustering`` the settings
    (``k, n_init, shuffle, kernel_norm, fold_batchnorm``; graph settings absent
    where they do not apply, e.g. for MLPs, and then recorded as missing);
    ``summary`` the clustering's summary (``ncut, n_nodes, n_init``, and ``k``);
    ``shuffled`` the shuffled networks' n-cuts (``None``: no shuffles drawn).
    With ``clustering["k"] == "auto"`` the row's ``k`` is the one the clustering
    chose (``summary["k"]``) and the row has ``k_setting: "auto"``.
    """
    from nnstructure.cluster import relative_clusterability_stats

    shuffled = np.asarray([] if shuffled is None else shuffled, dtype=float)
    stats = relative_clusterability_stats(summary["ncut"], shuffled) if len(shuffled) else {}
    auto = clustering["k"] == "auto"  # k chosen by the eigengap on this network's graph: the summary has it
    row = {
        **labels,
        "k": int(summary["k"] if auto else clustering["k"]),
        "n_init": summary.get("n_init", clustering.get("n_init")),
        "shuffle": clustering["shuffle"],
        "kernel_norm": clustering.get("kernel_norm"),
        "fold_batchnorm": clustering.get("fold_batchnorm"),
        "n_shuffles": int(len(shuffled)),
        "shuffle_device": shuffle_device,
        "ncut": float(summary["ncut"]),
        "shuffle_mean": stats.get("shuffle_mean", math.nan),
        "shuffle_std": stats.get("shuffle_std", math.nan),
        "shuffle_min": float(shuffled.min()) if len(shuffled) else math.nan,
        "p_value": stats.get("p_value", math.nan),
        "z_score": stats.get("z_score", math.nan),
        "n_nodes": int(summary["n_nodes"]),
    }
    if auto:
        row["k_setting"] = "auto"
    network = network_columns(network_metadata)
    row.update({k: v for k, v in network.items() if k not in row})
    return row


def network_metrics(metadata: dict) -> dict:
    """The accuracy/loss/sparsity columns of a results row, from checkpoint metadata.

    ``train_accuracy`` and ``train_loss`` are what the thesis's tables report:
    Keras's training history, i.e. the running mean over the last epoch's
    batches with dropout and regularisers active (for an untrained network,
    the evaluation below). ``train_accuracy_eval`` and ``train_loss_eval`` are
    the network evaluated in eval mode on the whole training set. The two
    differ for dropout networks (thesis Table A.1, dropout: 0.967 running
    against about 0.99 in eval mode).
    """
    history = metadata.get("metrics") or []
    last = history[-1] if history else {}

    def number(value):
        return float("nan") if value is None else float(value)

    return {
        "train_accuracy": number(last.get("train_accuracy", metadata.get("train_accuracy"))),
        "train_loss": number(last.get("train_loss", metadata.get("train_loss"))),
        "train_accuracy_eval": number(metadata.get("train_accuracy")),
        "train_loss_eval": number(metadata.get("train_loss")),
        "test_accuracy": number(metadata.get("test_accuracy")),
        "test_loss": number(metadata.get("test_loss")),
        "sparsity": number(metadata.get("sparsity")),
    }
