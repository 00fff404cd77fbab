"""Chapter 5, part 2 report: probes (Tables 5.3-5.10), adversarial training (5.8), dots and distances (5.9).

Inputs (aggregated Parquet tables of the workflow; any may be missing, its tables are then skipped):

* ``probes``: one row per probe, :func:`nnstructure.probe.run.probe_row` columns plus
  ``thesis_network`` (which thesis table the network stands for: ``coinrun-15``,
  ``coinrun-40``, ``heist``, ``adversarial``, ``dots``); random-network rows carry the
  ``thesis_network`` of the trained network they are a baseline for. Dots networks
  are told apart by ``network`` (``dots-regression-50``, ``dots-regression-5``,
  ``dots-classification``).
* ``adversarial``: one row, :func:`nnstructure.reward.adversarial.adversarial_summary`.
* ``adversarial_epochs``: one row per epoch of the adversarial run.
* ``adversarial_examples``: ``epoch``, ``path`` (npz of the examples generated after that epoch).
* ``adversarial_edits``: ``kind`` (original, translated, rearranged), ``predicted_reward``: the
  edited transitions of Table 5.2 scored by the adversarially trained net.
* ``adversarial_noise``: the noise test (Table 5.1 rows: ``pairing``, ``predicted_reward``) of that net.
* ``dots_nets``: one row per dots network: ``network``, ``task``, ``n_train``, ``epochs``,
  ``test_loss``, ``baseline_loss`` (mean guessing / base rates).
* ``dots_net_metrics``: their per-epoch metrics (``network``, ``epoch``, ``test_loss``,
  ``train_loss``): the learning-curve figure.
* optional, for the findings: ``reward_nets`` (chapter 5 part 1's: a probe finding on a net
  that has not learnt is not testable) and ``visualizations`` (de novo visualisations of
  the adversarially trained net, ``thesis_network`` "adversarial").

Probe cells show the Adam probe (the thesis's method) beside the exact least-squares
probe on the same cached features; random-network values in parentheses (mean over
random networks when there are several); the first row is the loss of guessing the mean.
An Adam cell whose probe did not converge (test loss more than 10% above the closed
form's) says so in the cell, ``[not converged: 4.9x closed form]``; the
``probe_convergence`` table lists every probe with its ratio and how Adam was trained.
Each probe table and the adversarial-training table end with one computed line saying
whether the thesis's qualitative finding holds (:mod:`nnstructure.report.findings`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from nnstructure.probe.schedule import CONVERGED_RATIO, TABLES
from nnstructure.probe.targets import TARGETS

CHAPTER = 5
REFERENCE_FILES = ("thesis_ch5_part2.csv",)

PROBE_TABLE_TARGETS = {
    "5.3": ("distance", "distance_sq", "inv_distance", "inv_distance_sq"),
    "5.4": ("distance", "distance_sq", "inv_distance", "inv_distance_sq"),
    "5.5": ("dx", "dy", "distance", "distance_sq", "inv_distance", "inv_distance_sq"),
    "5.6": ("distance", "distance_sq"),
    "5.7": ("distance", "distance_sq"),
    "5.8": ("distance", "distance_sq", "inv_distance", "inv_distance_sq"),
    "5.9": ("distance", "distance_sq"),
}
DOTS_NETWORKS = ("dots-regression-50", "dots-regression-5", "dots-classification")
DOTS_LABELS = {"dots-regression-50": "50-epoch net", "dots-regression-5": "5-epoch net",
               "dots-classification": "Classification net"}
LAYERS = (1, 2, 3, 4)


def load_reference() -> pd.DataFrame:
    """The thesis's numbers of Tables 5.3-5.10 and sections 5.7-5.9 (long format; ``value`` float)."""
    from nnstructure.report.reference import _read_package_csv

    ref = _read_package_csv("thesis_ch5_part2.csv")
    ref["value"] = ref["value"].astype(float)
    return ref


def _fmt(value) -> str:
    """Three significant figures, scientific notation for large numbers (as the thesis prints 1.12×10^4)."""
    if value is None or not np.isfinite(value):
        return ""
    value = float(value)
    if abs(value) >= 1e3:
        return f"{value:.3g}".replace("e+0", "e").replace("e+", "e")
    return f"{value:#.3g}".rstrip(".")


def _count(value) -> str:
    return f"{int(value):,}" if value is not None and np.isfinite(value) else ""


def _fmt_mean_sd(mean, sd) -> str:
    """``"0.0500 ± 0.0005"``: decimals down to the s.d.'s first significant figure (as Table 5.10 prints)."""
    if mean is None or not np.isfinite(mean):
        return ""
    if sd is None or not np.isfinite(sd) or sd <= 0:
        return _fmt(mean)
    d = max(1, -int(np.floor(np.log10(float(f"{sd:.1g}")))))
    return f"{mean:.{d}f} ± {sd:.{d}f}"


def _probe_rows(inputs: dict) -> pd.DataFrame:
    rows = inputs.get("probes")
    if rows is None or len(rows) == 0:
        return pd.DataFrame()
    missing = {"thesis_network", "layer", "target", "filtered", "init", "adam_test_loss",
               "closed_form_test_loss", "mean_loss"} - set(rows.columns)
    if missing:
        raise ValueError(f"probe rows lack columns {sorted(missing)}; they come from `nnstructure probe-fit --thesis-network ...`")
    return rows


def _table_of(row) -> str | None:
    if str(row["thesis_network"]).startswith("dots"):
        return "5.10"
    return TABLES.get((row["thesis_network"], bool(row["filtered"])))


def adam_ratio(rows: pd.DataFrame) -> pd.Series:
    """Each probe's Adam test loss over its closed-form test loss (NaN where the closed form's is not positive)."""
    exact = rows["closed_form_test_loss"].astype(float)
    return rows["adam_test_loss"].astype(float) / exact.where(exact > 0)


def adam_converged(rows: pd.DataFrame) -> pd.Series:
    """Whether each Adam probe ended within 10% of the closed form's test loss (the rows' ``converged``)."""
    return adam_ratio(rows) <= CONVERGED_RATIO


def _adam_text(rows: pd.DataFrame) -> str:
    """Mean Adam test loss, marked when any of the probes did not converge (with the worst ratio)."""
    text = _fmt(rows["adam_test_loss"].mean())
    ratio = adam_ratio(rows)
    if not adam_converged(rows).all():
        text += f" [not converged: {ratio.max():.3g}x closed form]"
    return text


def _cell(trained: pd.DataFrame, random: pd.DataFrame, column: str) -> str:
    value = _adam_text if column == "adam_test_loss" else (lambda rows: _fmt(rows[column].mean()))
    text = value(trained) if len(trained) else ""
    if len(random):
        text = f"{text} ({value(random)})".strip()
    return text


def probe_table(rows: pd.DataFrame, table: str) -> pd.DataFrame:
    """One of Tables 5.3-5.9: rows Mean, Layer 1-4; per target an Adam and a closed-form column."""
    rows = rows[[_table_of(r) == table for _, r in rows.iterrows()]]
    targets = [t for t in PROBE_TABLE_TARGETS[table] if t in set(rows["target"])]
    out = []
    mean_row = {"": "Mean"}
    for t in targets:
        label = TARGETS[t].label
        trained = rows[(rows["target"] == t) & (rows["init"] == "trained")]
        if not len(trained):  # random-network rows only: the same targets, so the same mean-guessing loss
            trained = rows[rows["target"] == t]
        mean_row[f"{label} (Adam)"] = _fmt(trained["mean_loss"].mean()) if len(trained) else ""
        mean_row[f"{label} (closed form)"] = mean_row[f"{label} (Adam)"]
    out.append(mean_row)
    for layer in LAYERS:
        at = rows[rows["layer"] == layer]
        if not len(at):
            continue
        line = {"": f"Layer {layer}"}
        for t in targets:
            label = TARGETS[t].label
            trained = at[(at["target"] == t) & (at["init"] == "trained")]
            random = at[(at["target"] == t) & (at["init"] == "random")]
            line[f"{label} (Adam)"] = _cell(trained, random, "adam_test_loss")
            line[f"{label} (closed form)"] = _cell(trained, random, "closed_form_test_loss")
        out.append(line)
    return pd.DataFrame(out)


def dots_probe_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Table 5.10: probes for the vector of same-colour distances; 'Random' = mean ± s.d. over random networks."""
    rows = rows[rows["thesis_network"].astype(str).str.startswith("dots") & (rows["target"] == "pair_distances")]
    trained_nets = [n for n in DOTS_NETWORKS if n in set(rows.loc[rows["init"] == "trained", "network"])]
    trained_nets += sorted(set(rows.loc[rows["init"] == "trained", "network"]) - set(trained_nets))
    out = [{"": "Mean", **{f"{DOTS_LABELS.get(n, n)} ({m})": _fmt(rows.loc[(rows["network"] == n) & (rows["init"] == "trained"), "mean_loss"].mean())
                           for n in trained_nets for m in ("Adam", "closed form")}}]
    for layer in LAYERS:
        at = rows[rows["layer"] == layer]
        if not len(at):
            continue
        line = {"": f"Layer {layer}"}
        for n in trained_nets:
            trained = at[(at["network"] == n) & (at["init"] == "trained")]
            line[f"{DOTS_LABELS.get(n, n)} (Adam)"] = _adam_text(trained) if len(trained) else ""
            line[f"{DOTS_LABELS.get(n, n)} (closed form)"] = _fmt(trained["closed_form_test_loss"].mean()) if len(trained) else ""
        random = at[at["init"] == "random"]
        # The thesis's 'Random' column: the probes' test loss, mean ± s.d. over the random networks (how many: the
        # caption, from the table's attrs).
        for column, label in (("adam_test_loss", "Random (Adam)"), ("closed_form_test_loss", "Random (closed form)")):
            sd = random[column].std(ddof=1) if len(random) > 1 else float("nan")
            line[label] = _fmt_mean_sd(random[column].mean(), sd) if len(random) else ""
            if column == "adam_test_loss" and len(random) and not adam_converged(random).all():
                line[label] += f" [not converged: {adam_ratio(random).max():.3g}x closed form]"
        out.append(line)
    table = pd.DataFrame(out).fillna("")
    random = rows[rows["init"] == "random"]
    if len(random):
        n = random.groupby("layer")["init_seed"].nunique() if "init_seed" in random.columns else random.groupby("layer").size()
        n_text = str(int(n.min())) if n.min() == n.max() else f"{int(n.min())}-{int(n.max())}"
        table.attrs["random_networks"] = n_text
    return table


ADVERSARIAL_METRICS = (
    ("train_loss", "Train loss"), ("test_loss", "Test loss"),
    ("first_adversarial_loss", "Loss on the first adversarial examples added"),
    ("final_adversarial_loss", "Loss on the final adversarial examples added and trained on"),
    ("end_examples_mse", "MSE of adversarial examples generated at the end"),
    ("end_examples_reward", "Mean predicted reward of those examples"),
)


def adversarial_table(inputs: dict) -> pd.DataFrame:
    """Section 5.8's numbers: our adversarial run beside the thesis's (plus noise and edited-transition predictions)."""
    ref = load_reference()
    ref = ref[ref["table"] == "5.8-text"]
    theirs = dict(zip(ref.loc[ref["network"] == "adversarial", "metric"], ref.loc[ref["network"] == "adversarial", "value"]))
    out = []
    summary = inputs.get("adversarial")
    if summary is not None and len(summary):
        s = summary.iloc[0]
        for metric, label in ADVERSARIAL_METRICS:
            out.append({"Quantity": label, "Ours": _fmt(s.get(metric)), "Thesis": _fmt(theirs.get(metric))})
    edits = inputs.get("adversarial_edits")
    if edits is not None and len(edits):
        from nnstructure.report.tables import format_mean_sd

        for kind in ("original", "translated", "rearranged"):
            values = edits.loc[edits["kind"] == kind, "predicted_reward"]
            if len(values):
                out.append({"Quantity": f"Edited transitions, {kind}",
                            "Ours": format_mean_sd(values.mean(), values.std(ddof=1) if len(values) > 1 else float("nan")),
                            "Thesis": format_mean_sd(theirs.get(f"edited_{kind}_mean"), theirs.get(f"edited_{kind}_sd"))})
    noise = inputs.get("adversarial_noise")
    if noise is not None and len(noise):
        from nnstructure.report.tables import format_mean_sd

        for pairing, values in noise.groupby("pairing")["predicted_reward"]:
            out.append({"Quantity": f"Noise, {pairing} images", "Ours": format_mean_sd(values.mean(), values.std(ddof=1)),
                        "Thesis": "~0 ('almost always')"})
    return pd.DataFrame(out, columns=["Quantity", "Ours", "Thesis"])


def _thesis_dots_values():
    """Lookup ``(network, metric) -> value`` of the thesis's section 5.9 text (``5.9-text`` in the reference
    table, read once); NaN where it gives none."""
    ref = load_reference()
    ref = ref[ref["table"] == "5.9-text"]

    def theirs(network: str, metric: str) -> float:
        v = ref.loc[(ref["network"] == network) & (ref["metric"] == metric), "value"]
        return float(v.iloc[0]) if len(v) else float("nan")

    return theirs


def dots_networks_table(inputs: dict) -> pd.DataFrame:
    """Section 5.9's networks: test loss beside the baseline, ours and the thesis's."""
    nets = inputs.get("dots_nets")
    theirs = _thesis_dots_values()
    out = []
    for _, r in (nets if nets is not None else pd.DataFrame()).iterrows():
        net = str(r["network"])
        base_metric, base_net = ("base_rate_loss", net) if "classification" in net else ("mean_guess_loss", "dots-regression")
        out.append({"Network": DOTS_LABELS.get(net, net), "Task": r.get("task", ""),
                    "Train images": f"{int(r['n_train']):,}", "Epochs": int(r["epochs"]),
                    "Test loss": _fmt(r["test_loss"]), "Baseline": _fmt(r.get("baseline_loss")),
                    "Thesis train images": _count(theirs(net, "n_train")), "Thesis epochs": _count(theirs(net, "epochs")),
                    "Thesis test loss": _fmt(theirs(net, "test_loss")), "Thesis baseline": _fmt(theirs(base_net, base_metric))})
    return pd.DataFrame(out)


def probe_convergence_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Every probe: Adam's and the closed form's test loss, their ratio, converged or not, and how Adam was trained."""
    from nnstructure.report.tables import format_tick

    def get(r, column, default=""):
        value = r.get(column, default)
        return default if value is None or (isinstance(value, float) and np.isnan(value)) else value

    ratio, converged = adam_ratio(rows), adam_converged(rows)
    out = []
    for i, (_, r) in enumerate(rows.iterrows()):
        out.append({"Table": _table_of(r) or "", "Network": r.get("network", ""), "Init": r["init"],
                    "Layer": int(r["layer"]), "Target": r["target"], "Filtered": format_tick(bool(r["filtered"])),
                    "Adam test MSE": _fmt(r["adam_test_loss"]), "Closed-form test MSE": _fmt(r["closed_form_test_loss"]),
                    "Adam / closed form": f"{ratio.iloc[i]:.3g}" if np.isfinite(ratio.iloc[i]) else "",
                    "Converged": format_tick(bool(converged.iloc[i])),
                    "Epochs (min)": _count(get(r, "epochs", np.nan)),
                    "Epochs run": _count(get(r, "adam_epochs", get(r, "epochs", np.nan))),
                    "Adam": get(r, "adam_method", "raw features, fixed epochs (before convergence was recorded)")})
    order = {t: i for i, t in enumerate([*PROBE_TABLE_TARGETS, "5.10"])}
    table = pd.DataFrame(out)
    table["_order"] = table["Table"].map(order).fillna(len(order))
    table = table.sort_values(["_order", "Network", "Target", "Filtered", "Init", "Layer"], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def findings(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One line per probe table (5.3-5.10) and for the adversarial section: does the thesis's finding hold?"""
    from nnstructure.report import findings as f

    records = []
    rows = _probe_rows(inputs)
    if len(rows):
        tables_of = pd.Series([_table_of(r) for _, r in rows.iterrows()], index=rows.index)
        # The adversarially trained net's probes (5.8, 5.9) are judged against its own mean guessing too.
        unlearnt = f.reward_net_unlearnt(inputs.get("reward_nets")) | f.reward_net_unlearnt(inputs.get("adversarial"))
        for table in PROBE_TABLE_TARGETS:
            if (tables_of == table).any():
                line = f.probe_finding(rows[tables_of == table], table, unlearnt)
                records.append(f.finding_record("table_5_" + table.split(".")[1], table,
                                                "heist-probes" if table == "5.5" else "coinrun-probes", line))
        if (tables_of == "5.10").any():
            line = f.dots_probe_finding(rows[tables_of == "5.10"], inputs.get("dots_nets"))
            records.append(f.finding_record("table_5_10", "5.10", "5.10", line))
    if _has_adversarial(inputs):
        visualizations = inputs.get("visualizations")
        adversarial_unlearnt = f.reward_net_unlearnt(inputs.get("adversarial"))
        records.append(f.finding_record("adversarial_training", "5.8-text", "adversarial",
                                        f.adversarial_denovo_finding(visualizations, unlearnt=adversarial_unlearnt)))
        edits = inputs.get("adversarial_edits")
        if edits is not None and len(edits):
            records.append(f.finding_record("adversarial_training", "5.8-text", "5.2",
                                            f.edits_finding(edits, inputs.get("adversarial"))))
    return pd.DataFrame(records, columns=["table_name", "table", "claim", "criterion", "verdict", "line"])


def _has_adversarial(inputs: dict) -> bool:
    return any(inputs.get(k) is not None and len(inputs[k]) for k in ("adversarial", "adversarial_edits", "adversarial_noise"))


def network_as_trained(network: str, inputs: dict) -> str:
    """``"cr15 (CoinRun, 3 epochs, width x0.25)"``: a network of ours as it was trained (from ``reward_nets``)."""
    nets = inputs.get("reward_nets")
    if nets is None or not len(nets) or "network" not in nets.columns or network not in set(nets["network"].astype(str)):
        return network
    r = nets[nets["network"].astype(str) == network].iloc[0]
    parts = []
    if isinstance(r.get("game"), str) and r.get("game"):
        parts.append({"coinrun": "CoinRun", "heist": "Heist"}.get(r["game"], r["game"]))
    epochs, width = r.get("epochs"), r.get("width_multiplier")
    if epochs is not None and pd.notna(epochs):
        parts.append(f"{int(epochs)} epoch{'s' if int(epochs) != 1 else ''}")
    if width is not None and pd.notna(width):
        from nnstructure.report.ch5 import width_text

        parts.append(width_text(r))
    return f"{network} ({', '.join(parts)})" if parts else network


def probed_networks_text(rows: pd.DataFrame, table: str, inputs: dict) -> str:
    """Which of our networks a probe table probes, as trained, and the thesis network they stand in for."""
    rows = rows[[_table_of(r) == table for _, r in rows.iterrows()]]
    trained = rows[rows["init"] == "trained"]
    names = list(dict.fromkeys((trained if len(trained) else rows)["network"].astype(str)))
    ours = ", ".join(network_as_trained(n, inputs) for n in names) or "our network"
    thesis = THESIS_PROBE_NETWORKS.get(table)
    return f"{ours}, standing in for the thesis's {thesis.removeprefix('the ')}" if thesis else ours


def build_tables(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Tables 5.3-5.10 (those with probe rows), every probe's convergence, the adversarial-training and
    dots-network tables, and the thesis's findings judged on them (``findings``)."""
    tables: dict[str, pd.DataFrame] = {}
    rows = _probe_rows(inputs)
    if len(rows):
        present = {_table_of(r) for _, r in rows.iterrows()}
        for table in PROBE_TABLE_TARGETS:
            if table in present:
                df = probe_table(rows, table)
                df.attrs["networks"] = probed_networks_text(rows, table, inputs)
                tables["table_5_" + table.split(".")[1]] = df
        if "5.10" in present:
            tables["table_5_10"] = dots_probe_table(rows)
        tables["probe_convergence"] = probe_convergence_table(rows)
    if _has_adversarial(inputs):
        tables["adversarial_training"] = adversarial_table(inputs)
    if inputs.get("dots_nets") is not None and len(inputs["dots_nets"]):
        tables["dots_networks"] = dots_networks_table(inputs)
    lines = findings(inputs)
    if len(lines):
        tables["findings"] = lines
    return tables


#: The thesis network each probe table is about (our tables name our network as trained beside it).
THESIS_PROBE_NETWORKS = {
    "5.3": "the 15-epoch CoinRun network", "5.4": "the 40-epoch CoinRun network", "5.5": "the Heist network",
    "5.6": "the 15-epoch CoinRun network", "5.7": "the 40-epoch CoinRun network",
    "5.8": "the adversarially trained CoinRun network", "5.9": "the adversarially trained CoinRun network",
}
_CAPTIONS = {
    "table_5_3": "Table 5.3: probes",
    "table_5_4": "Table 5.4: probes",
    "table_5_5": "Table 5.5: probes",
    "table_5_6": "Table 5.6: filtered probes (coin visible)",
    "table_5_7": "Table 5.7: filtered probes (coin visible)",
    "table_5_8": "Table 5.8: probes",
    "table_5_9": "Table 5.9: filtered probes (coin visible)",
    "table_5_10": "Table 5.10: probes for the vector of same-colour distances on the dots networks",
    "adversarial_training": "Section 5.8: adversarial training",
    "probe_convergence": ("Did the Adam probes converge? Every probe's Adam test MSE over the exact least-squares "
                          "probe's; converged = within 10% (a probe that is not is a half-trained probe, not a result)"),
    "dots_networks": "Section 5.9: networks trained on dots and distances",
}


def tables_markdown(tables: dict[str, pd.DataFrame], settings: dict[str, str] | None = None) -> dict[str, str]:
    """Markdown per table with a caption saying what was run (``settings``: extra caption text per table),
    then the table's finding lines; ``findings`` as a list of every line."""
    from nnstructure.report.findings import findings_list_markdown, findings_markdown
    from nnstructure.report.tables import to_markdown

    lines = tables.get("findings")
    out = {}
    for name, df in tables.items():
        if name == "findings":
            out[name] = findings_list_markdown(df, "Chapter 5 (probes, adversarial training, dots): the thesis's findings on our nets")
            continue
        caption = _CAPTIONS.get(name, name)
        if "networks" in df.attrs:
            caption += f" on {df.attrs['networks']}"
        if name.startswith("table_5_"):
            caption += (". Test MSE of linear probes on space-pooled ReLU layers: Adam (batch 128, at least the "
                        "thesis's epochs, then on until it reaches the closed form; see probe_convergence for how each "
                        "was trained) and the exact least-squares solution of the same probe; "
                        + ("" if name == "table_5_10" else "randomly initialised networks of the same architecture "
                                                           "in parentheses; ")
                        + "Mean = guessing the training mean. "
                        "[not converged] marks an Adam probe more than 10% above the closed form's test loss")
        if name == "table_5_10" and "random_networks" in df.attrs:
            caption += (f". Random: the probes' test loss on {df.attrs['random_networks']} randomly initialised "
                        "networks, mean ± s.d. (the thesis: five)")
        if name == "probe_convergence":
            caption += f". {int((df['Converged'] == '×').sum())} of {len(df)} Adam probes did not converge"
        if settings and name in settings:
            caption += f". {settings[name]}"
        finding = findings_markdown(lines, name)
        out[name] = to_markdown(df, caption=caption + ".") + (f"\n{finding}\n" if finding else "")
    return out


def build_figures(inputs: dict[str, pd.DataFrame], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Figure 5.19 (example dots images), Figures 5.18 and C.3-C.7 (adversarial examples), probe convergence,
    the dots networks' learning curves."""
    out_dir = Path(out_dir)
    figures = {"fig_5_19": plot_dots_examples(out_dir / "fig_5_19.png")}
    metrics, nets = inputs.get("dots_net_metrics"), inputs.get("dots_nets")
    if metrics is not None and len(metrics) and nets is not None and len(nets):
        figures["fig_dots_net_training"] = plot_dots_training(metrics, nets, out_dir / "fig_dots_net_training.png")
    examples = inputs.get("adversarial_examples")
    if examples is not None and len(examples):
        from nnstructure.reward.visualize import plot_transitions

        last = int(examples["epoch"].max())
        for _, r in examples.sort_values("epoch").iterrows():
            epoch = int(r["epoch"])
            name = "fig_5_18" if epoch == last else f"fig_c_{epoch - 2}" if 5 <= epoch <= 9 else f"fig_adversarial_epoch_{epoch}"
            with np.load(r["path"]) as z:
                obs, nxt, pred = (_as_uint8(z["obs"][:2]), _as_uint8(z["next_obs"][:2]), z["predicted_reward"][:2])
            titles = [f"example {i + 1}: predicted {p:.3g}" for i, p in enumerate(pred)]
            when = "at the end of adversarial training" if epoch == last else f"after epoch {epoch} of adversarial training"
            figures[name] = plot_transitions(obs, nxt, titles, out_dir / f"{name}.png", columns=1,
                                             suptitle=f"Two adversarial examples {when}")
    rows = inputs.get("probes")
    if rows is not None and len(rows) and "adam_test_loss_by_epoch" in rows.columns:
        figures["fig_probe_convergence"] = plot_probe_convergence(rows, out_dir / "fig_probe_convergence.png")
    return figures


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Images stored as floats in [0, 1] (adversarial example sets) as uint8 for plotting."""
    if images.dtype == np.uint8:
        return images
    return np.rint(np.clip(images.astype(np.float32), 0, 1) * 255).astype(np.uint8)


def plot_dots_examples(path: str | os.PathLike, n: int = 8, seed: int = 0) -> Path:
    """Figure 5.19: example dots-and-distances images (black frame for the border only), labels in the titles."""
    from matplotlib.figure import Figure

    from nnstructure.data.dots_stream import generate_dots
    from nnstructure.io import save_figure

    images, labels = generate_dots(seed, "train", np.arange(n))
    fig = Figure(figsize=(1.8 * min(n, 4), 1.9 * int(np.ceil(n / 4))))
    axes = fig.subplots(int(np.ceil(n / 4)), min(n, 4), squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i in range(n):
        ax = axes.ravel()[i]
        ax.imshow(np.transpose(images[i], (1, 2, 0)), interpolation="nearest")
        ax.set_title(f"mean distance {labels[i, 0]:.3f}", fontsize=7)
    save_figure(fig, path)
    return Path(path)


def plot_dots_training(metrics: pd.DataFrame, nets: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Test loss per epoch of every dots network over its input-ignoring baseline (mean guessing, base rates),
    with the thesis's final ratios (0.31 regression, 0.25 classification) as dashed lines."""
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure

    theirs = _thesis_dots_values()
    baseline = nets.set_index("network")["baseline_loss"]
    task = nets.set_index("network")["task"]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for network, g in metrics.groupby("network", sort=False):
        if network not in baseline.index or not baseline[network] > 0:
            continue
        name = DOTS_LABELS.get(str(network), str(network))
        ax.plot(g["epoch"], g["test_loss"] / baseline[network], marker="o", ms=3, label=f"{name} ({task[network]}): test")
    for label, net, base, va in (("regression", "dots-regression-50", ("dots-regression", "mean_guess_loss"), "bottom"),
                                 ("classification", "dots-classification", ("dots-classification", "base_rate_loss"),
                                  "top")):
        ratio = theirs(net, "test_loss") / theirs(*base)
        if np.isfinite(ratio):
            ax.axhline(ratio, ls="--", lw=0.8, color="grey")
            ax.text(ax.get_xlim()[0], ratio, f" thesis {label}: {ratio:.2f}", fontsize=7, va=va)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")  # an unweighted epoch of a discarded stream sits far above the base rate
    ax.set_xlabel("epoch")
    ax.set_ylabel("test loss / baseline (mean guessing, base rates)")
    ax.set_title("Dots and distances: learning curves", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path)
    return Path(path)


def plot_probe_convergence(rows: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Adam probe test loss per epoch divided by the exact least-squares probe's test loss, per probe."""
    from matplotlib.figure import Figure

    from nnstructure.io import save_figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    trained = rows[rows["init"] == "trained"]
    for _, r in trained.iterrows():
        history = np.asarray(r["adam_test_loss_by_epoch"], dtype=float)
        if len(history) and r["closed_form_test_loss"] > 0:
            ax.plot(np.arange(1, len(history) + 1), history / r["closed_form_test_loss"], lw=0.8, alpha=0.7)
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.axhline(CONVERGED_RATIO, color="grey", lw=0.8, ls=":", label=f"converged: at most {CONVERGED_RATIO:g}")
    ax.legend(fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("Adam epoch")
    ax.set_ylabel("Adam test loss / closed-form test loss")
    ax.set_title("Did the Adam probes converge? (1 = the exact least-squares probe)", fontsize=9)
    save_figure(fig, path)
    return Path(path)


# --- scorecard ---------------------------------------------------------------------------

def _agree_ratio(ours: float, theirs: float, factor: float = 2.0):
    if not (np.isfinite(ours) and np.isfinite(theirs)) or ours <= 0 or theirs <= 0:
        return None
    return bool(1 / factor <= ours / theirs <= factor)


def scorecard(inputs: dict[str, pd.DataFrame], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our numbers beside the thesis's: probe losses (raw and relative to the mean-guessing loss),
    the adversarial run, the dots networks. Rows of ours without a thesis counterpart are kept."""
    ref = load_reference() if reference is None else reference.assign(value=reference["value"].astype(float))
    out: list[dict] = []
    rows = _probe_rows(inputs)
    if len(rows):
        out += _probe_scorecard(rows, ref)
    summary = inputs.get("adversarial")
    if summary is not None and len(summary):
        s = summary.iloc[0]
        r58 = ref[(ref["table"] == "5.8-text") & (ref["network"] == "adversarial")].set_index("metric")["value"]
        for metric, label in ADVERSARIAL_METRICS:
            ours, theirs = float(s.get(metric, np.nan)), float(r58.get(metric, np.nan))
            out.append(_card("5.8", f"adversarial run: {label}", metric, ours, theirs, _agree_ratio(ours, theirs),
                             "within a factor of 2", f"adversarial_fraction {s.get('adversarial_fraction')} ({s.get('variant')})"))
        edits = inputs.get("adversarial_edits")
        if edits is not None and len(edits):
            for kind in ("original", "translated", "rearranged"):
                values = edits.loc[edits["kind"] == kind, "predicted_reward"]
                if len(values):
                    ours, theirs, sd = values.mean(), r58.get(f"edited_{kind}_mean", np.nan), r58.get(f"edited_{kind}_sd", np.nan)
                    out.append(_card("5.8", f"adversarial net, edited transitions: {kind}", "mean_predicted_reward", ours, theirs,
                                     bool(abs(ours - theirs) <= max(sd, 0.5)), "|diff| <= max(thesis s.d., 0.5)",
                                     f"{len(values)} transitions"))
    nets = inputs.get("dots_nets")
    if nets is not None and len(nets):
        r59 = ref[ref["table"] == "5.9-text"]
        for _, r in nets.iterrows():
            net = str(r["network"])
            theirs = r59.loc[(r59["network"] == net) & (r59["metric"] == "test_loss"), "value"]
            theirs = float(theirs.iloc[0]) if len(theirs) else np.nan
            out.append(_card("5.9", f"{net}: test loss", "test_loss", float(r["test_loss"]), theirs,
                             _agree_ratio(float(r["test_loss"]), theirs, 1.25), "within 25%",
                             f"{int(r['n_train'])} train images x {int(r['epochs'])} epochs"))
            base_metric, base_net = ("base_rate_loss", net) if "classification" in net else ("mean_guess_loss", "dots-regression")
            theirs_base = r59.loc[(r59["network"] == base_net) & (r59["metric"] == base_metric), "value"]
            if "baseline_loss" in r and len(theirs_base):
                tb = float(theirs_base.iloc[0])
                out.append(_card("5.9", f"{net}: baseline loss", base_metric, float(r["baseline_loss"]), tb,
                                 bool(abs(float(r["baseline_loss"]) - tb) <= 0.1 * tb), "within 10% (data distribution)", ""))
    from nnstructure.report.findings import findings_card

    out += findings_card(findings(inputs), CHAPTER)
    card = pd.DataFrame(out, columns=["chapter", "table", "cell", "metric", "ours", "theirs", "diff", "agrees", "criterion", "note"])
    return card


def _card(table, cell, metric, ours, theirs, agrees, criterion, note) -> dict:
    ours = float(ours) if ours is not None else np.nan
    theirs = float(theirs) if theirs is not None else np.nan
    return {"chapter": CHAPTER, "table": table, "cell": cell, "metric": metric, "ours": ours,
            "theirs": theirs if np.isfinite(theirs) else np.nan,
            "diff": ours - theirs if np.isfinite(ours) and np.isfinite(theirs) else np.nan,
            "agrees": agrees if np.isfinite(theirs) else None, "criterion": criterion if np.isfinite(theirs) else "", "note": note}


def _probe_scorecard(rows: pd.DataFrame, ref: pd.DataFrame) -> list[dict]:
    out = []
    rows = rows.assign(table=[_table_of(r) for _, r in rows.iterrows()])
    probe_ref = ref[ref["table"].isin(list(PROBE_TABLE_TARGETS) + ["5.10"])]

    def ref_value(table, network, layer, target, init, metric):
        sel = probe_ref[(probe_ref["table"] == table) & (probe_ref["target"] == target) & (probe_ref["metric"] == metric)
                        & (probe_ref["layer"] == ("" if layer is None else str(layer))) & (probe_ref["init"] == init)]
        if table == "5.10" and init == "trained":
            sel = sel[sel["network"] == network]
        return float(sel["value"].iloc[0]) if len(sel) else np.nan

    for (table, network, target, filtered), group in rows.groupby(["table", "network", "target", "filtered"], dropna=False):
        if table is None:
            continue
        theirs_mean = ref_value(table, network, None, target, "", "mean_loss")
        trained = group[group["init"] == "trained"]
        if len(trained):
            ours_mean = float(trained["mean_loss"].mean())
            out.append(_card(table, f"{network} {target}{' filtered' if filtered else ''}: guessing the mean", "mean_loss",
                             ours_mean, theirs_mean, _agree_ratio(ours_mean, theirs_mean, 1.25),
                             "within 25% (same target distribution)", f"{int(trained['n_test'].iloc[0])} test rows"))
        for (layer, init), cell in group.groupby(["layer", "init"]):
            adam, exact, mean = cell["adam_test_loss"].mean(), cell["closed_form_test_loss"].mean(), cell["mean_loss"].mean()
            theirs = ref_value(table, network, layer, target, init, "test_loss")
            theirs_ratio = theirs / theirs_mean
            name = f"{network} layer {layer} {target}{' filtered' if filtered else ''} ({init})"
            epochs = cell["adam_epochs"] if "adam_epochs" in cell.columns else cell["epochs"]
            converged = bool(adam_converged(cell).all())
            note = (f"Adam {int(epochs.max())} epochs (min {int(cell['epochs'].iloc[0])}); closed form {_fmt(exact)}; "
                    f"{len(cell)} network(s)")
            if not converged:
                note += (f"; Adam NOT converged ({adam_ratio(cell).max():.3g}x the closed form's test loss): "
                         "not judged")
            out.append(_card(table, name, "test_loss", adam, theirs, None, "", note))
            ours_ratio = adam / mean
            judged = bool(abs(ours_ratio - theirs_ratio) <= 0.1) if np.isfinite(theirs_ratio) and converged else None
            ratio_card = _card(table, name, "test_loss_over_mean", ours_ratio, theirs_ratio, judged,
                               "|diff| <= 0.1 (loss as a fraction of guessing the mean)", note)
            if not converged:
                ratio_card["agrees"], ratio_card["criterion"] = None, "not judged: Adam did not converge"
            out.append(ratio_card)
            exact_card = _card(table, name, "closed_form_test_loss_over_mean", exact / mean, theirs_ratio, None, "",
                               "our exact least-squares probe beside the thesis's Adam probe (no agreement rule: "
                               "a different fit of the same linear probe)")
            exact_card["agrees"] = None
            out.append(exact_card)
    return out
