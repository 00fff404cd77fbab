"""The index of the thesis's tables and figures: where a run has each one, or why it is not there.

The thesis's list is package data, ``nnstructure/reference/thesis_items.csv`` (id,
kind, chapter, title: the 103 numbered result tables and figures; the
illustrative diagrams 3.1, 4.1 and 4.2 left out). :data:`PLACES` maps every id to
a *locator*: a function of a workflow config that returns the :class:`Plan` of
the item (the files of a run folder ``<results_dir>/<preset>`` that hold it and
the analysis entries or network sets that make them), or ``None`` when the
config does not make it. Each chapter-3 and appendix-A table and n-cut figure
has its own file named as in the thesis (``report/ch3/tables/table_a_1.md``,
``report/ch3/figures/fig_3_2.png``), made from the analysis entries whose
``table`` label names it (:mod:`nnstructure.report.ch3_items`).

:func:`thesis_index` looks for each item's files in a run folder. An item not
found gets a reason: the config's entries for it were skipped for missing data
(CIFAR-10, ImageNet weights or images), it needs a GPU at the thesis's scale, or it
is left out of this preset (every item has a step that makes it; chapter 5's
illustrations and the appendix's further edits included: Figures 5.1, 5.2 and
C.14-C.21, :mod:`nnstructure.report.ch5_items`).
:func:`producing_presets` says which shipped presets (``config.yaml``,
``config/*.yaml``) make each item; :func:`index_markdown` renders the index with
the counts at the top (``report/index.md``, written beside the combined
scorecard).
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from nnstructure import workflow as wc
from nnstructure.report import ch3_items

#: Why an item is not in a run folder (the index's counts, in this order).
PRODUCED = "produced by this run"
NEEDS_GPU = "needs a GPU at thesis scale"
NEEDS_DATA = "needs CIFAR-10 or ImageNet data"
LEFT_OUT = "left out of this preset"
NOT_WRITTEN = "expected but not written by this run"
STATUSES = (PRODUCED, LEFT_OUT, NEEDS_GPU, NEEDS_DATA, NOT_WRITTEN)

#: Items whose networks need a GPU at the thesis's scale (VGG-16 on CIFAR-10: 200 + 50 epochs) and that no
#: CPU-sized preset makes. (Chapter 5's thesis networks are GPU-sized too; config/ch5-cpu.yaml makes narrow ones.)
GPU_ITEMS = frozenset({"Table A.6", "Table A.11", "Figure 3.11", "Figure 3.12", "Figure 3.19",
                       "Table 4.3", "Table 4.4", "Table 4.5", "Table 4.6"})
#: The data an item needs beyond what the workflow makes itself.
DATA_ITEMS = {**{item: "CIFAR-10" for item in GPU_ITEMS},
              "Table A.7": "ImageNet weights", "Figure 3.13": "ImageNet weights"}


@dataclass(frozen=True)
class Plan:
    """Where a config puts a thesis item.

    ``files``: glob patterns relative to the run folder (each must match for the item to be there);
    ``sources``: ``(analysis, entry)`` or ``("networks", set)`` pairs that make it (checked for missing data);
    ``detail``: what part of the files is the item, when they hold more.
    """

    files: tuple[str, ...]
    sources: tuple[tuple[str, str], ...] = ()
    detail: str = ""


Locator = Callable[[dict], "Plan | None"]


# ---------------------------------------------------------------------------------------------
# The thesis's list


def load_thesis_items() -> pd.DataFrame:
    """The thesis's numbered tables and figures: ``id`` ("Table 3.1"), ``kind``, ``chapter``, ``title``."""
    resource = importlib.resources.files("nnstructure") / "reference" / "thesis_items.csv"
    with resource.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------------------------
# What a config makes (config-level: data availability is checked separately, see blockers)


def _entries(config: dict, analysis: str) -> list[tuple[str, dict, str]]:
    """(entry, its spec, its network set) of every enabled entry of ``analysis``."""
    return [(entry, wc.analysis_entry(config, analysis, entry), wc.entry_set(config, analysis, entry))
            for entry in wc.analysis_entries(config, analysis)]


def _plan(files, analysis: str, entries, detail: str = "") -> Plan | None:
    return Plan(tuple(files), tuple((analysis, e) for e in entries), detail) if entries else None


def ch3_item(item: str) -> Locator:
    """A chapter-3 or appendix-A table or n-cut figure: its own file under ``report/ch3/`` (named as in the
    thesis: :mod:`nnstructure.report.ch3_items`), made from the entries whose rows it holds."""

    def locate(config: dict) -> Plan | None:
        entries = ch3_items.config_items_cached(config).get(item)
        if not entries:
            return None
        what = ch3_items.ITEMS[item].what
        detail = f"from {', '.join(entries)}" + (f" ({what})" if what else "")
        return _plan([f"report/ch3/{ch3_items.item_files(item)[0]}"], "clusterability", entries, detail)

    return locate


def figure_3_7(config: dict) -> Plan | None:
    """Figure 3.7: entries with both layer and nonzero shuffles."""
    entries = [e for e, _, _ in _entries(config, "clusterability")
               if wc.clustering_settings(config, e)["n_shuffles"] > 0
               and {"layer", "nonzero"} <= set(wc.clustering_settings(config, e)["shuffle"])]
    return _plan(["report/ch3/figures/fig_3_7.png"], "clusterability", entries)


def dataset_samples(item: str) -> Locator:
    """Figures 3.4 and 3.14: samples of the 'halves' or 'stack' datasets the clusterability entries' networks
    learnt from (``report/ch3/figures/fig_3_4.png``)."""

    def locate(config: dict) -> Plan | None:
        names = ch3_items.config_dataset_figures(config).get(item)
        if not names:
            return None
        sets = sorted({c.network.network_set for c in ch3_items.planned_cells(config)
                       if wc.set_dataset(config, c.network.network_set) in names})
        return _plan([f"report/ch3/{ch3_items.item_files(item)[0]}"], "networks", sets, f"datasets {', '.join(names)}")

    return locate


def ch4_file(path: str, proxy: str | None = None, labels: tuple[str, ...] = ()) -> Locator:
    """A chapter-4 table or figure under ``report/ch4/``: made from every entry (with ``proxy``); with
    ``labels``, only when an entry has each of them (Tables 4.3-4.6: the CIFAR-10 VGGs)."""

    def locate(config: dict) -> Plan | None:
        entries = [e for e, _, _ in _entries(config, "specialization")
                   if proxy is None or proxy in wc.specialization_settings(config, e)["proxies"]]
        if labels:
            found = {label: [e for e in entries if str(wc.analysis_entry(config, "specialization", e).get("table", "")) == label]
                     for label in labels}
            entries = [] if not all(found.values()) else [e for label in labels for e in found[label]]
        return _plan([f"report/ch4/{path}"], "specialization", entries)

    return locate


def _ch5_sets(config: dict, kinds: tuple[str, ...]) -> list[str]:
    return [n for n in wc.enabled_network_sets(config) if wc.network_kind(config, n) in kinds]


def ch5_always(path: str) -> Locator:
    """A chapter-5 figure every chapter-5 report draws (Figures 5.15, 5.19)."""

    def locate(config: dict) -> Plan | None:
        sets = _ch5_sets(config, wc.CH5_KINDS)
        if not (sets or wc.used_transition_datasets(config)):
            return None
        return Plan((f"report/{path}",), tuple(("networks", n) for n in sets))

    return locate


#: Optimisation steps of a visualisation when ``reward.visualization_steps`` is null (as the thesis).
THESIS_VISUALIZATION_STEPS = {"denovo": 512, "from-dataset": 128, "from-edits": 128}


def _reward_entry_makes(config: dict, entry: str, name: str, mode: str | None, edits: bool, step: int | None) -> bool:
    s = wc.reward_settings(config, entry)
    if mode is None and wc.network_kind(config, name) != "reward":
        return False  # Tables 5.1, 5.2: the adversarially trained net's tests are in part 2
    if mode is not None and mode not in s["visualization_modes"]:
        return False
    if (edits or mode == "from-edits") and not wc.has_edits(config, wc.set_dataset(config, name)):
        return False
    return step is None or step <= (s["visualization_steps"] or THESIS_VISUALIZATION_STEPS[mode])


def reward_file(pattern: str, mode: str | None = None, edits: bool = False, step: int | None = None,
                detail: str = "") -> Locator:
    """A file of the chapter-5 report from the reward nets' tests: every reward entry's (with visualisation
    ``mode`` running to ``step`` at least; on a dataset with edited transitions when ``edits``)."""

    def locate(config: dict) -> Plan | None:
        entries = [entry for entry, _, name in _entries(config, "reward")
                   if _reward_entry_makes(config, entry, name, mode, edits, step)]
        return _plan([f"report/{pattern}"], "reward", entries, detail)

    return locate


#: Table 5.2's edited transitions drawn per thesis figure: (variant, first transition, count).
EDIT_FIGURES = {"Figure 5.16": ("translated", 0, 2), "Figure 5.17": ("rearranged", 0, 2),
                "Figure C.8": ("original", 0, 8), "Figure C.9": ("original", 8, 8),
                "Figure C.10": ("translated", 0, 8), "Figure C.11": ("translated", 8, 8),
                "Figure C.12": ("rearranged", 0, 8), "Figure C.13": ("rearranged", 8, 8)}


def edits_figure(item: str) -> Locator:
    """Figures 5.16, 5.17, C.8-C.13 (Table 5.2's edited transitions) and C.14-C.21 (the appendix's further edits
    of them, :mod:`nnstructure.reward.appendix_edits`): drawn for each dataset with edited transitions that a
    reward net is tested on, under their thesis names in the chapter-5 report (suffixed with the dataset when
    there are several)."""

    first = EDIT_FIGURES.get(item, ("", 0, 0))[1]  # C.9, C.11, C.13 draw transitions 9-16: 9 edits at least

    def locate(config: dict) -> Plan | None:
        def enough(name: str) -> bool:
            dataset = wc.set_dataset(config, name)
            return wc.has_edits(config, dataset) and int(wc.transition_dataset(config, dataset)["edits"]) > first

        entries = [e for e, _, name in _entries(config, "reward") if enough(name)]
        return _plan([f"report/ch5/figures/{_with_suffix(ch3_items.item_stem(item))}"], "reward", entries)

    return locate


def dataset_figure(file: str, game: str | None = None) -> Locator:
    """Figures 5.1 (from a CoinRun transition dataset's shards: ``game``) and 5.2 (a Heist frame the game renders,
    with any transition dataset): made by the chapter-5 report from the transition datasets the networks use."""

    def locate(config: dict) -> Plan | None:
        names = [n for n in wc.used_transition_datasets(config)
                 if game is None or wc.transition_dataset(config, n)["game"] == game]
        sets = [n for n in _ch5_sets(config, ("reward", "adversarial")) if wc.set_dataset(config, n) in names]
        return _plan([f"report/ch5/figures/{file}"], "networks", sets)

    return locate


def probe_table(table: str) -> Locator:
    """Tables 5.3-5.10: probe entries whose networks stand for the table's thesis network (filtered or not)."""
    from nnstructure.probe.schedule import TABLES

    wanted = {key for key, value in TABLES.items() if value == table}

    def locate(config: dict) -> Plan | None:
        entries = []
        for entry, spec, name in _entries(config, "probes"):
            filtered = bool(wc.probe_settings(config, entry).get("filtered"))
            networks = [n for n in wc.networks_of(config, name)
                        if spec.get("conditions") is None or n.condition in spec["conditions"]]
            found = {(wc.thesis_network(config, n), f) for n in networks for f in {False, filtered}}
            if found & wanted:
                entries.append(entry)
        return _plan([f"report/ch5_part2/tables/table_{table.replace('.', '_')}.md"], "probes", entries)

    return locate


def example_epochs(settings: dict) -> range:
    """The epochs after which adversarial training makes a set of examples that it trains on:
    ``first_adversarial_epoch .. epochs - 1`` (as :func:`nnstructure.reward.adversarial.generation_epochs`,
    which imports torch; the DAG build does not)."""
    return range(int(settings["first_adversarial_epoch"]), int(settings["epochs"]))


def adversarial_figure(epoch: int | None = None) -> Locator:
    """Figure 5.18 (the examples made at the end of adversarial training) and C.3-C.7 (after epochs 5-9)."""

    def made_after(config: dict, name: str) -> bool:
        return epoch is None or any(epoch in example_epochs(wc.ch5_settings(config, net))
                                    for net in wc.networks_of(config, name))

    file = "fig_5_18.png" if epoch is None else f"fig_c_{epoch - 2}.png"

    def locate(config: dict) -> Plan | None:
        sets = [n for n in _ch5_sets(config, ("adversarial",)) if made_after(config, n)]
        return _plan([f"report/ch5_part2/figures/{file}"], "networks", sets)

    return locate


def _with_suffix(stem: str) -> str:
    """The figure ``stem``, alone or per network (``<stem>_<network>.png`` when several networks have one)."""
    return f"{stem}{{.png,_*.png}}"


#: Where each thesis item is: its locator.
PLACES: dict[str, Locator] = {
    **{item: ch3_item(item) for item in ch3_items.ITEMS},
    "Figure 3.4": dataset_samples("Figure 3.4"),
    "Figure 3.7": figure_3_7,
    "Figure 3.14": dataset_samples("Figure 3.14"),
    "Table 4.1": ch4_file("tables/table_4_1.md"),
    "Table 4.2": ch4_file("tables/table_4_2.md"),
    "Table 4.3": ch4_file("tables/table_4_3.md", "lesion", ("4.3",)),
    "Table 4.4": ch4_file("tables/table_4_4.md", "visualization", ("4.3",)),
    "Table 4.5": ch4_file("tables/table_4_5.md", "lesion", ("4.3", "4.5")),
    "Table 4.6": ch4_file("tables/table_4_6.md", "visualization", ("4.3", "4.5")),
    "Figure 4.3": ch4_file("figures/fig_4_3.png"),
    "Figure 4.4": ch4_file("figures/fig_4_4.png", "visualization"),
    "Table 5.1": reward_file("ch5/tables/table_5_1.md"),
    "Table 5.2": reward_file("ch5/tables/table_5_2.md", edits=True),
    **{f"Table 5.{n}": probe_table(f"5.{n}") for n in range(3, 11)},
    "Figure 5.1": dataset_figure("fig_5_1.png", "coinrun"),
    "Figure 5.2": dataset_figure("fig_5_2.png"),
    "Figure 5.3": reward_file(f"ch5/figures/{_with_suffix('fig_5_3')}", "denovo"),
    **{f"Figure 5.{n}": reward_file(f"ch5/figures/{_with_suffix(f'fig_5_{n}')}", "from-dataset", step=2 ** (n - 1),
                                    detail=f"the snapshot after {2 ** (n - 1)} steps of one transition's optimisation")
       for n in range(4, 9)},
    "Figure 5.9": reward_file(f"ch5/figures/{_with_suffix('fig_5_9')}", "from-edits", step=0,
                              detail="the translated transition before optimisation"),
    **{f"Figure 5.{n}": reward_file(f"ch5/figures/{_with_suffix(f'fig_5_{n}')}", "from-edits", step=2 ** (n - 7),
                                    detail=f"the snapshot after {2 ** (n - 7)} steps of the translated transition's "
                                           "optimisation")
       for n in range(10, 15)},
    "Figure 5.15": ch5_always("ch5/figures/fig_5_15.png"),
    "Figure 5.16": edits_figure("Figure 5.16"),
    "Figure 5.17": edits_figure("Figure 5.17"),
    "Figure 5.18": adversarial_figure(),
    "Figure 5.19": ch5_always("ch5_part2/figures/fig_5_19.png"),
    "Table B.1": ch4_file("tables/table_b_1.md", "lesion"),
    "Table B.2": ch4_file("tables/table_b_2.md", "visualization"),
    "Figure C.1": reward_file(f"ch5/figures/{_with_suffix('fig_c_1')}", "denovo"),
    "Figure C.2": reward_file(f"ch5/figures/{_with_suffix('fig_c_2')}", "denovo"),
    **{f"Figure C.{n}": adversarial_figure(n + 2) for n in range(3, 8)},
    **{f"Figure C.{n}": edits_figure(f"Figure C.{n}") for n in range(8, 14)},
    **{f"Figure C.{n}": edits_figure(f"Figure C.{n}") for n in range(14, 22)},
}


# ---------------------------------------------------------------------------------------------
# Why a planned item may be missing: its entries were skipped for missing data


def source_blocker(config: dict, source: tuple[str, str]) -> str | None:
    """What data a source of an item lacks here ("CIFAR-10", "ImageNet weights", "ImageNet images"), or None."""
    analysis, name = source
    network_set = name if analysis == "networks" else wc.entry_set(config, analysis, name)
    kind = wc.network_kind(config, network_set)
    if wc.missing_data(config, network_set) is not None:
        return "CIFAR-10"
    if kind == "pretrained" and analysis == "specialization":
        return "ImageNet images"
    if kind == "pretrained" and not wc.available_networks(config, network_set):
        return "ImageNet weights"
    return None


def plan_blockers(config: dict, plan: Plan) -> dict[str, str]:
    """Each source of ``plan`` skipped for missing data, with what it lacks."""
    out = {}
    for source in plan.sources:
        lack = source_blocker(config, source)
        if lack is not None:
            out[source[1]] = lack
    return out


# ---------------------------------------------------------------------------------------------
# The index


def locate(item: str, config: dict) -> Plan | None:
    """The plan of ``item`` in ``config``, or ``None`` when the config does not make it."""
    return PLACES[item](config)


def found_files(run_dir: str | os.PathLike, plan: Plan) -> list[str] | None:
    """The files of ``plan`` in ``run_dir`` (relative paths), or ``None`` unless every pattern matches one."""
    root = Path(run_dir)
    out = []
    for pattern in plan.files:
        matches = sorted(str(p.relative_to(root)) for p in _glob(root, pattern))
        if not matches:
            return None
        out += matches
    return out


def _glob(root: Path, pattern: str) -> list[Path]:
    """``root.glob`` with one ``{a,b}`` alternative group (``fig_5_3{.png,_*.png}``)."""
    if "{" not in pattern:
        return list(root.glob(pattern))
    head, rest = pattern.split("{", 1)
    options, tail = rest.split("}", 1)
    return [p for option in options.split(",") for p in root.glob(head + option + tail)]


@dataclass
class Entry:
    """One row of the index."""

    status: str
    files: list[str] = field(default_factory=list)
    reason: str = ""


def _absent(item: str, presets: list[str]) -> Entry:
    """An item this config does not make: needs a GPU at thesis scale, or left out (and which presets make it)."""
    needs = DATA_ITEMS.get(item)
    status = NEEDS_GPU if item in GPU_ITEMS else LEFT_OUT
    reason = status + (f" (and {needs} data)" if needs else "")
    return Entry(status, reason=reason + (f"; made by {_presets_text(presets)}" if presets else ""))


def _presets_text(presets: list[str]) -> str:
    """``the paper preset``, ``the ch5-cpu and paper presets``."""
    if len(presets) == 1:
        return f"the {presets[0]} preset"
    return f"the {', '.join(presets[:-1])} and {presets[-1]} presets"


def index_entry(item: str, config: dict, run_dir: str | os.PathLike, presets: list[str]) -> Entry:
    """Where ``item`` is in ``run_dir``, or why it is not there."""
    plan = locate(item, config)
    if plan is None:
        return _absent(item, presets)
    blocked = plan_blockers(config, plan)
    files = found_files(run_dir, plan)
    if files is not None:
        skipped = "; ".join(f"{name} skipped (needs {lack})" for name, lack in blocked.items())
        return Entry(PRODUCED, files, "; ".join(x for x in (plan.detail, skipped) if x))
    if blocked and len(blocked) == len(plan.sources):
        needs = ", ".join(sorted(set(blocked.values())))
        return Entry(NEEDS_DATA, reason=f"{NEEDS_DATA} ({needs} not found): {', '.join(blocked)} skipped")
    return Entry(NOT_WRITTEN, reason=f"{NOT_WRITTEN}: {', '.join(plan.files)}")


def thesis_index(config: dict, run_dir: str | os.PathLike, producers: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """One row per thesis item: ``id, kind, chapter, title, status, files, reason, presets``.

    ``producers``: which shipped presets make each item (:func:`producing_presets`).
    """
    items = load_thesis_items()
    producers = producers or {}
    rows = []
    for item in items.itertuples(index=False):
        presets = list(producers.get(item.id, []))
        entry = index_entry(item.id, config, run_dir, presets)
        rows.append({**item._asdict(), "status": entry.status, "files": entry.files, "reason": entry.reason,
                     "presets": presets})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Shipped presets


SCHEMA = "config/schema.yaml"


def preset_files(workflow_dir: str | os.PathLike) -> list[str]:
    """The shipped presets, relative to the workflow folder: ``config.yaml`` and every ``config/*.yaml`` but the schema."""
    others = sorted(f"config/{p.name}" for p in (Path(workflow_dir) / "config").glob("*.yaml"))
    return ["config.yaml", *(name for name in others if name != SCHEMA)]


def preset_checksums(workflow_dir: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of each shipped preset and of the schema (the index's params: editing a preset reruns it)."""
    import hashlib

    root = Path(workflow_dir)
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in [*preset_files(root), SCHEMA]}


def shipped_producers(workflow_dir: str | os.PathLike) -> dict[str, list[str]]:
    """Per thesis item, the shipped presets that make it."""
    root = Path(workflow_dir)
    return producing_presets([load_preset(root / name, root / SCHEMA) for name in preset_files(root)])


def load_preset(path: str | os.PathLike, schema_path: str | os.PathLike) -> dict:
    """A preset file with the schema's defaults filled in, as the workflow sees it."""
    import yaml

    from nnstructure.config_check import fill_defaults

    return fill_defaults(yaml.safe_load(Path(path).read_text()), schema_path)


def producing_presets(presets: list[dict]) -> dict[str, list[str]]:
    """Per thesis item, the names (``preset``) of the given preset configs that make it."""
    out: dict[str, list[str]] = {item: [] for item in PLACES}
    for config in presets:
        for item in PLACES:
            plan = locate(item, config)
            if plan is not None:
                out[item].append(str(config["preset"]))
    return out


# ---------------------------------------------------------------------------------------------
# Markdown


def status_counts(index: pd.DataFrame) -> dict[str, int]:
    return {status: int((index["status"] == status).sum()) for status in STATUSES}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _where(row, run_dir_from_index: str) -> str:
    """Links to the item's files (relative to the index), or 'not produced' and why."""
    if row.status != PRODUCED:
        return _cell(f"not produced: {row.reason}")
    links = ", ".join(f"[{f}]({run_dir_from_index}{f})" for f in row.files)
    return _cell(links + (f" ({row.reason})" if row.reason else ""))


def index_markdown(index: pd.DataFrame, preset: str) -> str:
    """``report/index.md``: counts, then one row per item (id, what it shows, our file or why not, presets)."""
    counts = status_counts(index)
    lines = ["# The thesis's tables and figures", "",
             f"Preset '{preset}': every numbered result table and figure of the thesis ({len(index)}; the illustrative "
             "diagrams 3.1, 4.1 and 4.2 left out), with the file of this run that holds it or why it is not there, "
             "and the shipped presets that make it. Paths are relative to this folder.", "",
             "| | Items |", "|---|---|"]
    lines += [f"| {status} | {n} |" for status, n in counts.items() if n or status == PRODUCED]
    lines += ["", "| Id | What it shows | Our file | Made by preset |", "|---|---|---|---|"]
    for row in index.itertuples(index=False):
        lines.append(f"| {row.id} | {_cell(row.title)} | {_where(row, '../')} | {', '.join(row.presets)} |")
    return "\n".join(lines) + "\n"
