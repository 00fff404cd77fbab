"""Chapter 5's per-job results gathered into the tables the report modules read (``nnstructure.report.ch5*``).

Each table gets the network's name (``network``: ``<set>-<condition>``) and, where
the report needs it, the thesis network it stands for (``thesis_network``).
Adversarially trained networks' noise tests and edited-transition predictions go
to their own tables (``adversarial_noise``, ``adversarial_edits``), as section 5.8
reports them apart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nnstructure import workflow_config as wc
from nnstructure.io import read_parquet, write_parquet
from nnstructure.paths import ArtifactPaths


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def aggregate_reward_results(config: dict, root: str, outputs: dict[str, str]) -> dict[str, int]:
    """Write every table of ``outputs`` (name -> path) from the workflow's chapter-5 artifacts; return row counts."""
    paths = ArtifactPaths(root)
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in outputs}

    for name in wc.used_transition_datasets(config):
        tables["datasets"].append(read_parquet(paths.transitions_table(name, "summary")).assign(dataset=name))

    for set_name in wc.enabled_network_sets(config):
        kind = wc.network_kind(config, set_name)
        if kind not in wc.CH5_KINDS:
            continue
        for net in wc.networks_of(config, set_name):
            label, thesis = wc.network_label(config, net), wc.thesis_network(config, net)
            ids = {"network": label, "network_set": set_name, "condition": net.condition, "seed": net.seed}
            metrics = read_parquet(paths.training_metrics(net.network_set, net.condition, net.seed, kind))
            if kind == "reward":
                row = read_parquet(paths.network_row(net.network_set, net.condition, net.seed, kind))
                tables["reward_nets"].append(row.assign(**ids, thesis_network=thesis))
                tables["reward_net_metrics"].append(metrics.assign(**ids))
            elif kind == "dots":
                row = read_parquet(paths.network_row(net.network_set, net.condition, net.seed, kind))
                tables["dots_nets"].append(row.assign(**ids))
            else:
                tables["adversarial"].append(read_parquet(
                    paths.adversarial_file(net.network_set, net.condition, net.seed, "summary.parquet")).assign(**ids))
                tables["adversarial_epochs"].append(read_parquet(
                    paths.adversarial_file(net.network_set, net.condition, net.seed, "epochs.parquet")).assign(**ids))
                examples = Path(paths.adversarial_file(net.network_set, net.condition, net.seed, "examples"))
                tables["adversarial_examples"].append(pd.DataFrame(
                    [{"epoch": int(f.stem.rsplit("-", 1)[1]), "path": str(f), **ids}
                     for f in sorted(examples.glob("examples-epoch-*.npz"))]))

    for job in wc.reward_jobs(config):
        network = wc.entry_network(config, "reward", job["entry"], job["condition"], job["seed"])
        adversarial = wc.network_kind(config, network.network_set) == "adversarial"
        ids = {"network": wc.network_label(config, network), "thesis_network": wc.thesis_network(config, network)}
        path = paths.reward_test(job["entry"], job["condition"], job["seed"], job["phase"], job["test"], job["variant"])
        if job["test"] == "noise":
            table = read_parquet(path).assign(**ids)
            tables["adversarial_noise" if adversarial else "noise"].append(table)
        elif job["test"] == "edits":
            table = read_parquet(path).assign(**ids)
            if adversarial:
                table = table.assign(kind=table["edit"])
            tables["adversarial_edits" if adversarial else "edits"].append(table)
        else:
            folder = Path(path)
            tables["visualizations"].append(read_parquet(folder / "predictions.parquet").assign(**ids))
            if (folder / "controls.parquet").exists():
                tables["visualization_controls"].append(read_parquet(folder / "controls.parquet").assign(**ids))
            tables["visualization_images"].append(pd.DataFrame(
                [{**ids, "mode": job["variant"], "path": str(folder / "images.npz")}]))

    for job in wc.probe_jobs(config):
        network = wc.entry_network(config, "probes", job["entry"], job["condition"], job["seed"])
        row = read_parquet(paths.probe_row(job["entry"], job["condition"], job["seed"], job["phase"], job["init"],
                                           job["layer"], job["target"], job["filtered"]))
        tables["probes"].append(row.assign(network=wc.network_label(config, network), init_kind=job["init"],
                                           thesis_network=wc.thesis_network(config, network) or ""))

    counts = {}
    for name, path in outputs.items():
        table = _concat(tables[name])
        write_parquet(table, path)
        counts[name] = len(table)
    return counts
