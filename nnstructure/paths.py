"""Where every workflow artifact lives: the one module that builds artifact paths.

The Snakemake rules (output patterns) and the helpers that list targets or
pair artifacts (aggregation, reports) all call these functions, so a path is
spelled in exactly one place. Every function takes plain strings, so passing
Snakemake wildcard placeholders (``"{condition}"``) gives the rule's pattern and
passing values gives a concrete path::

    paths = ArtifactPaths("results/default")
    paths.network("{network_set}", "{condition}", "{seed}", "{phase}")   # a rule's output pattern
    paths.network("mlp-mnist", "none", 0, "pruned")      # results/default/networks/mlp-mnist/none/seed0/final.pt

Layout under ``<results_dir>/<preset>/``::

    datasets/<name>.npz, <name>.png                      one cached dataset (+ preview)
    networks/<set>/<condition>/seed<k>/<file>.pt         checkpoints: unpruned.pt / final.pt (trained),
                                                         init.pt (random init), pretrained.pt (imported)
    networks/<set>/<condition>/seed<k>/metrics.parquet   per-epoch training metrics
    <analysis>/<step>/<entry>/<condition>/seed<k>/...    per-network analysis artifacts
    tables/, report/                                     aggregated tables and the report
    logs/<rule>/..., benchmarks/<rule>/...               one log and one benchmark per job
"""

from __future__ import annotations

#: Checkpoint file of each network phase.
PHASE_FILES = {"unpruned": "unpruned.pt", "pruned": "final.pt", "init": "init.pt", "pretrained": "pretrained.pt",
               "reward": "reward.pt", "adversarial": "adversarial.pt", "dots": "dots.pt"}


def seed_dir(seed) -> str:
    return f"seed{seed}"


class ArtifactPaths:
    """Artifact paths under one preset's results folder (``<results_dir>/<preset>``)."""

    def __init__(self, root: str):
        self.root = str(root).rstrip("/")

    # -- datasets ------------------------------------------------------------------------------
    def dataset(self, name) -> str:
        return f"{self.root}/datasets/{name}.npz"

    def dataset_preview(self, name) -> str:
        return f"{self.root}/datasets/{name}.png"

    # -- transition datasets (chapter 5) ---------------------------------------------------------
    def transitions_dir(self, name) -> str:
        """A transition dataset folder (shards/, transitions.parquet, summary.parquet), as the reader expects it."""
        return f"{self.root}/transitions/{name}"

    def transition_shard(self, name, shard, suffix) -> str:
        """One shard's frames (``npz``) or rows (``parquet``); ``shard`` is the 5-digit index."""
        return f"{self.transitions_dir(name)}/shards/shard-{shard}.{suffix}"

    def transitions_table(self, name, table) -> str:
        """``transitions`` (every transition with its split) or ``summary`` (the dataset's statistics)."""
        return f"{self.transitions_dir(name)}/{table}.parquet"

    def edits_dir(self, name) -> str:
        return f"{self.root}/transitions/{name}-edits"

    # -- networks ------------------------------------------------------------------------------
    def network_dir(self, network_set, condition, seed) -> str:
        return f"{self.root}/networks/{network_set}/{condition}/{seed_dir(seed)}"

    def network(self, network_set, condition, seed, phase) -> str:
        """The checkpoint of one network phase (``phase`` may be a wildcard: then ``{phase}.pt``)."""
        name = PHASE_FILES.get(str(phase), f"{phase}.pt")
        return f"{self.network_dir(network_set, condition, seed)}/{name}"

    def training_metrics(self, network_set, condition, seed, kind=None) -> str:
        """Per-epoch metrics; chapter-5 kinds (``reward``, ``adversarial``, ``dots``) name theirs after the kind."""
        prefix = "" if kind is None else f"{kind}-"
        return f"{self.network_dir(network_set, condition, seed)}/{prefix}metrics.parquet"

    def network_row(self, network_set, condition, seed, kind) -> str:
        """A chapter-5 network's results row (test loss beside its baseline)."""
        return f"{self.network_dir(network_set, condition, seed)}/{kind}-row.parquet"

    def adversarial_file(self, network_set, condition, seed, name) -> str:
        """``summary.parquet``, ``epochs.parquet`` or the ``examples`` folder of an adversarial run."""
        return f"{self.network_dir(network_set, condition, seed)}/{name}"

    # -- per-network analysis artifacts -----------------------------------------------------------
    def analysis_cell(self, analysis, step, entry, condition, seed) -> str:
        return f"{self.root}/{analysis}/{step}/{entry}/{condition}/{seed_dir(seed)}"

    def graph(self, entry, condition, seed, phase) -> str:
        return f"{self.analysis_cell('clusterability', 'graphs', entry, condition, seed)}/{phase}.npz"

    def cluster_labels(self, entry, condition, seed, phase, k) -> str:
        return f"{self.analysis_cell('clusterability', 'clusters', entry, condition, seed)}/{phase}-k{k}.parquet"

    def shuffles(self, entry, condition, seed, phase, k, kind) -> str:
        return f"{self.analysis_cell('clusterability', 'shuffles', entry, condition, seed)}/{phase}-k{k}-{kind}.parquet"

    def clusterability_row(self, entry, condition, seed, phase, k, kind) -> str:
        return f"{self.analysis_cell('clusterability', 'rows', entry, condition, seed)}/{phase}-k{k}-{kind}.parquet"

    def partition(self, entry, condition, seed, phase, partitioning, k) -> str:
        return f"{self.analysis_cell('specialization', 'partitions', entry, condition, seed)}/{phase}-{partitioning}-k{k}.parquet"

    def proxy_results(self, entry, condition, seed, phase, partitioning, k, proxy) -> str:
        return f"{self.analysis_cell('specialization', 'results', entry, condition, seed)}/{phase}-{partitioning}-k{k}-{proxy}.parquet"

    def proxy_images(self, entry, condition, seed, phase, partitioning, k) -> str:
        """The saved true and random visualisations of one partition (Figure 4.4)."""
        return f"{self.analysis_cell('specialization', 'images', entry, condition, seed)}/{phase}-{partitioning}-k{k}.parquet"

    def reward_test(self, entry, condition, seed, phase, test, variant) -> str:
        """A reward net's noise test (``variant`` clip/noclip), edited transitions or visualisation (a folder)."""
        suffix = "" if test == "visualization" else ".parquet"
        return f"{self.analysis_cell('reward', test, entry, condition, seed)}/{phase}-{variant}{suffix}"

    def probe_features(self, entry, condition, seed, phase, init) -> str:
        """The cached pooled layers of a network (``init`` trained or random<k>), a folder."""
        return f"{self.analysis_cell('probes', 'features', entry, condition, seed)}/{phase}-{init}"

    def probe_row(self, entry, condition, seed, phase, init, layer, target, filtered) -> str:
        return (f"{self.analysis_cell('probes', 'rows', entry, condition, seed)}/"
                f"{phase}-{init}-layer{layer}-{target}-{filtered}.parquet")

    # -- aggregated tables and the report ---------------------------------------------------------
    def table(self, name) -> str:
        return f"{self.root}/tables/{name}.parquet"

    def report_dir(self, chapter=None) -> str:
        """``report/`` (the combined scorecard), or one chapter's folder ``report/<chapter>/``."""
        return f"{self.root}/report" if chapter is None else f"{self.root}/report/{chapter}"

    def report_file(self, name, chapter=None) -> str:
        return f"{self.report_dir(chapter)}/{name}"

    def html_report(self) -> str:
        return f"{self.root}/report.html"

    # -- logs and benchmarks ----------------------------------------------------------------------
    def log(self, rule, *parts) -> str:
        return "/".join([f"{self.root}/logs/{rule}", *map(str, parts)]) + ".log"

    def benchmark(self, rule, *parts) -> str:
        return "/".join([f"{self.root}/benchmarks/{rule}", *map(str, parts)]) + ".tsv"
