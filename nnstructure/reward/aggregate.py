"""Chapter 5's per-job results gathered into the tables the report modules read (``nnstructure.report.ch5*``).

The aggregation reads its named inputs only (:data:`INPUT_TABLES`: what each
file is and which table its rows go to) and writes into every row the columns
it is given for that row's file: the network's name (``network``:
``<set>-<condition>``), where the report needs it the thesis network it stands
for (``thesis_network``), and the like. The workflow passes those columns as the
aggregation's params (:func:`nnstructure.workflow.reward.reward_aggregate_columns`),
so a changed display label reruns the aggregation and nothing else.
Adversarially trained networks' noise tests and edited-transition predictions go
to their own tables (``adversarial_noise``, ``adversarial_edits``), as section 5.8
reports them apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pandas as pd

from nnstructure.io import read_parquet, write_parquet

#: Each named input: the table its files' rows go to (a visualisation folder feeds three).
INPUT_TABLES = {
    "datasets": ("datasets",),
    "reward_rows": ("reward_nets",),
    "reward_metrics": ("reward_net_metrics",),
    "dots_rows": ("dots_nets",),
    "dots_metrics": ("dots_net_metrics",),
    "adversarial_summaries": ("adversarial",),
    "adversarial_epochs": ("adversarial_epochs",),
    "adversarial_examples": ("adversarial_examples",),
    "noise": ("noise",),
    "adversarial_noise": ("adversarial_noise",),
    "edits": ("edits",),
    "adversarial_edits": ("adversarial_edits",),
    "visualizations": ("visualizations", "visualization_controls", "visualization_images"),
    "probes": ("probes",),
}
#: Who a chapter-5 network is, in the tables of its own results.
NETWORK_IDS = ("network", "network_set", "condition", "seed")
#: Who a tested network is, in the tables of its tests.
TEST_LABELS = ("network", "thesis_network")


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _with(table: pd.DataFrame, columns: Mapping, names: Sequence[str]) -> pd.DataFrame:
    """``table`` with the constant columns ``names`` (in this order) taken from ``columns``."""
    return table.assign(**{name: columns[name] for name in names})


def _files(inputs: Mapping[str, Sequence[str]], columns: Mapping[str, Sequence[Mapping]],
           name: str) -> Iterator[tuple[str, Mapping]]:
    files, labels = list(inputs.get(name, ())), list(columns.get(name, ()))
    if len(files) != len(labels):
        raise ValueError(f"aggregation input {name!r}: {len(files)} files but columns for {len(labels)}")
    return zip(files, labels)


def aggregate_reward_results(inputs: Mapping[str, Sequence[str]], columns: Mapping[str, Sequence[Mapping]],
                             outputs: Mapping[str, str]) -> dict[str, int]:
    """Write every table of ``outputs`` (name -> path) from the files of ``inputs``; return row counts.

    ``inputs`` maps the names of :data:`INPUT_TABLES` to lists of files and
    ``columns`` the same names to one mapping per file: the columns every row
    read from that file gets.
    """
    unknown = set(inputs) - set(INPUT_TABLES)
    if unknown:
        raise ValueError(f"unknown aggregation inputs {sorted(unknown)}; known: {', '.join(INPUT_TABLES)}")
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in outputs}

    def files(name):
        return _files(inputs, columns, name)

    for path, c in files("datasets"):
        tables["datasets"].append(_with(read_parquet(path), c, ("dataset",)))
    for path, c in files("reward_rows"):
        tables["reward_nets"].append(_with(read_parquet(path), c, NETWORK_IDS + ("thesis_network",)))
    for path, c in files("reward_metrics"):
        tables["reward_net_metrics"].append(_with(read_parquet(path), c, NETWORK_IDS))
    for path, c in files("dots_rows"):
        tables["dots_nets"].append(_with(read_parquet(path), c, NETWORK_IDS))
    for path, c in files("dots_metrics"):
        tables["dots_net_metrics"].append(_with(read_parquet(path), c, NETWORK_IDS))
    for path, c in files("adversarial_summaries"):
        summary = read_parquet(path)
        if "mean_guess_test_mse" not in summary.columns:  # a summary written before it had one
            from nnstructure.checkpoint import read_metadata
            from nnstructure.reward.adversarial import mean_guess_test_mse

            summary["mean_guess_test_mse"] = [mean_guess_test_mse(read_metadata(ck)) for ck in summary["checkpoint"]]
        tables["adversarial"].append(_with(summary, c, NETWORK_IDS))
    for path, c in files("adversarial_epochs"):
        tables["adversarial_epochs"].append(_with(read_parquet(path), c, NETWORK_IDS))
    for path, c in files("adversarial_examples"):
        ids = {name: c[name] for name in NETWORK_IDS}
        tables["adversarial_examples"].append(pd.DataFrame(
            [{"epoch": int(f.stem.rsplit("-", 1)[1]), "path": str(f), **ids}
             for f in sorted(Path(path).glob("examples-epoch-*.npz"))]))

    for name in ("noise", "adversarial_noise", "edits"):
        for path, c in files(name):
            tables[name].append(_with(read_parquet(path), c, TEST_LABELS))
    for path, c in files("adversarial_edits"):
        table = _with(read_parquet(path), c, TEST_LABELS)
        tables["adversarial_edits"].append(table.assign(kind=table["edit"]))
    for path, c in files("visualizations"):
        folder = Path(path)
        tables["visualizations"].append(_with(read_parquet(folder / "predictions.parquet"), c, TEST_LABELS))
        if (folder / "controls.parquet").exists():
            tables["visualization_controls"].append(_with(read_parquet(folder / "controls.parquet"), c, TEST_LABELS))
        tables["visualization_images"].append(pd.DataFrame(
            [{**{name: c[name] for name in TEST_LABELS}, "mode": c["mode"], "path": str(folder / "images.npz")}]))

    for path, c in files("probes"):
        tables["probes"].append(_with(read_parquet(path), c, ("network", "init_kind", "thesis_network")))

    counts = {}
    for name, path in outputs.items():
        table = _concat(tables[name])
        write_parquet(table, path)
        counts[name] = len(table)
    return counts
