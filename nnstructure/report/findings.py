"""The thesis's qualitative chapter-5 findings, judged on our numbers: one line per table.

Each function takes aggregated tables (the chapter-5 report inputs) and returns
one line that begins with ``"Holds:"``, ``"Does not hold:"`` or ``"Not
testable:"``, followed by the claim and the numbers that decide it. Lines are
computed, never written by hand; a result that contradicts the thesis is
reported as such.

Thresholds (module constants):

* A network *has not learnt* when its test loss is above :data:`NOT_LEARNT_RATIO`
  (0.5) times the loss of guessing the mean (reward nets: ``mean_guess_test_mse``;
  dots nets: ``baseline_loss``); its findings are then not testable.
* Table 5.1, noise gets a *high reward*: the mean predicted reward over every
  noise transition (both pairings, every action; the thesis-text noise when
  several variants were run) is above :data:`HIGH_REWARD` (5), or above
  :data:`HIGH_FRACTION_OF_ORIGINAL` (half) the mean prediction on the original
  rewarded transitions of Table 5.2 when those exist.
* Table 5.2: originals are *about 10* (within :data:`ABOUT_COIN_REWARD` = 2.5 of
  the coin's reward 10), rearranged edits are *about 0* (mean below
  :data:`ABOUT_ZERO` = 1.5), translated edits are *in between* (mean strictly
  between the rearranged and the original means).
* Probe tables 5.3-5.9 (target: distance) and 5.10 (vector of distances): the
  probe loss is the closed-form (exact least-squares) probe's test MSE, mean
  over networks per layer; a converged Adam probe is within 10% of it. Probes
  *beat mean guessing* when the best layer's loss is below the mean-guessing
  loss, and *beat random networks* when it is below the best layer's loss of
  the randomly initialised networks (mean over them per layer). *Best at layer
  2* (CoinRun tables, not Heist's 5.5): layer 2 is the argmin over at least two
  probed layers. *Layer by layer* (dots): the loss falls strictly from each
  probed layer to the next, for every trained network.
* Adversarial training: de novo visualisations *lose their high reward* when
  the mean predicted reward of the adversarially trained net's de novo inputs
  at the last optimisation step is at most :data:`DENOVO_HIGH` (10, the
  largest true reward); when ordinary reward nets have de novo visualisations
  too, theirs must be above it (else there was no high reward to lose).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VERDICTS = ("Holds", "Does not hold", "Not testable")
NOT_LEARNT_RATIO = 0.5
HIGH_REWARD = 5.0
HIGH_FRACTION_OF_ORIGINAL = 0.5
COIN_REWARD = 10.0
ABOUT_COIN_REWARD = 2.5
ABOUT_ZERO = 1.5
DENOVO_HIGH = 10.0
COINRUN_BEST_LAYER = 2
PROBE_TARGET = "distance"
DOTS_TARGET = "pair_distances"

CLAIMS = {
    "5.1": "noise gets a high reward",
    "5.2": "originals are about 10, translated edits in between, rearranged edits about 0",
    "coinrun-probes": "probes beat mean guessing and random networks, and find distance best at layer 2",
    "heist-probes": "probes of the distance beat mean guessing and random networks",
    "5.10": "probes beat mean guessing and random networks, and improve layer by layer",
    "adversarial": "after adversarial training, de novo visualisations lose their high reward",
}
#: What decides each claim, for the scorecard's criterion column.
CRITERIA = {
    "5.1": f"mean noise reward > {HIGH_REWARD:g}, or > {HIGH_FRACTION_OF_ORIGINAL:g} x originals' mean",
    "5.2": (f"|original - {COIN_REWARD:g}| <= {ABOUT_COIN_REWARD:g}; rearranged < {ABOUT_ZERO:g}; "
            "rearranged < translated < original"),
    "coinrun-probes": "best layer's closed-form loss < mean guessing and < random nets' best; argmin layer = 2",
    "heist-probes": "best layer's closed-form loss < mean guessing and < random nets' best",
    "5.10": "best layer's closed-form loss < mean guessing and < random nets' best; loss falls layer by layer",
    "adversarial": f"adversarial net's de novo reward <= {DENOVO_HIGH:g} (ordinary nets' > {DENOVO_HIGH:g})",
}


def verdict_of(line: str) -> str:
    """The verdict a finding line begins with."""
    for v in VERDICTS:
        if line.startswith(v + ":"):
            return v
    raise ValueError(f"a finding line begins with one of {VERDICTS}, got {line!r}")


def agrees(line: str) -> bool | None:
    """True for Holds, False for Does not hold, None for Not testable (the scorecard's ``agrees``)."""
    return {"Holds": True, "Does not hold": False, "Not testable": None}[verdict_of(line)]


def _f(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}"


def _line(verdict: str, claim: str, details: list[str]) -> str:
    return f"{verdict}: {claim} ({'; '.join(d for d in details if d)})"


def _combine(claim: str, parts: list[tuple[str, str]]) -> str:
    """One line from per-network ``(verdict, details)``: any contradiction decides, else any success, else untestable."""
    if not parts:
        return _line("Not testable", claim, ["no results"])
    verdicts = [v for v, _ in parts]
    verdict = "Does not hold" if "Does not hold" in verdicts else "Holds" if "Holds" in verdicts else "Not testable"
    if len(parts) == 1:
        return _line(verdict, claim, [parts[0][1]])
    return _line(verdict, claim, [f"{text} [{v.lower()}]" for v, text in parts])


def _verdict(checks: list[bool | None]) -> str:
    if any(c is False for c in checks):
        return "Does not hold"
    if any(c is None for c in checks):
        return "Not testable"
    return "Holds"


def _present(df: pd.DataFrame | None) -> bool:
    return df is not None and len(df) > 0


def _by_network(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "network" not in df.columns:
        return [("net", df)]
    return [(str(n), g) for n, g in df.groupby("network", sort=False)]


def not_learnt(test_loss: float, baseline_loss: float) -> str | None:
    """The reason a network's findings are not testable, or None when it has learnt (or is unknown)."""
    if not (np.isfinite(test_loss) and np.isfinite(baseline_loss)) or baseline_loss <= 0:
        return None
    ratio = test_loss / baseline_loss
    if ratio > NOT_LEARNT_RATIO:
        return f"has not learnt: test loss {_f(test_loss)} is {_f(ratio)} x mean guessing (> {NOT_LEARNT_RATIO:g})"
    return None


def unlearnt(nets: pd.DataFrame | None, baseline: str) -> dict[str, str]:
    """{network: reason} for the networks of ``nets`` (``network``, ``test_loss`` and the ``baseline`` column: the
    reward nets' ``mean_guess_test_mse``, the dots nets' ``baseline_loss``) that have not learnt."""
    out = {}
    if _present(nets) and {"test_loss", baseline} <= set(nets.columns):
        for _, r in nets.iterrows():
            reason = not_learnt(float(r["test_loss"]), float(r[baseline]))
            if reason:
                out[str(r["network"])] = reason
    return out


def reward_net_unlearnt(reward_nets: pd.DataFrame | None) -> dict[str, str]:
    """{network: reason} for the reward nets that have not learnt (against mean guessing)."""
    return unlearnt(reward_nets, "mean_guess_test_mse")


def dots_net_unlearnt(dots_nets: pd.DataFrame | None) -> dict[str, str]:
    """{network: reason} for the dots nets that have not learnt (against the base-rate loss)."""
    return unlearnt(dots_nets, "baseline_loss")


# --- Table 5.1 ------------------------------------------------------------------------------

def noise_finding(noise: pd.DataFrame | None, edits: pd.DataFrame | None = None,
                  reward_nets: pd.DataFrame | None = None) -> str:
    """Table 5.1: does random noise get a high predicted reward? (``noise``: ``network``, ``pairing``,
    ``predicted_reward``, optionally ``noise_variant``; ``edits``: ``network``, ``edit``, ``predicted_reward``.)"""
    claim = CLAIMS["5.1"]
    if not _present(noise):
        return _line("Not testable", claim, ["no noise predictions"])
    if "noise_variant" in noise.columns and (noise["noise_variant"] == "thesis-text").any():
        noise = noise[noise["noise_variant"] == "thesis-text"]
    unlearnt = reward_net_unlearnt(reward_nets)
    parts = []
    for network, g in _by_network(noise):
        if network in unlearnt:
            parts.append(("Not testable", f"{network} {unlearnt[network]}"))
            continue
        mean = float(g["predicted_reward"].mean())
        by_pairing = ", ".join(f"{p} {_f(v)}" for p, v in g.groupby("pairing", sort=True)["predicted_reward"].mean().items())
        threshold, source = HIGH_REWARD, ""
        if _present(edits):
            originals = edits.loc[(edits["network"].astype(str) == network) & (edits["edit"] == "original"), "predicted_reward"]
            if len(originals):
                half = HIGH_FRACTION_OF_ORIGINAL * float(originals.mean())
                if half < threshold:
                    threshold, source = half, f" (half the originals' {_f(float(originals.mean()))})"
        high = mean > threshold
        parts.append(("Holds" if high else "Does not hold",
                      f"{network}: mean {_f(mean)} {'>' if high else '<='} {_f(threshold)}{source}; {by_pairing}"))
    return _combine(claim, parts)


# --- Table 5.2 ------------------------------------------------------------------------------

def edits_finding(edits: pd.DataFrame | None, reward_nets: pd.DataFrame | None = None) -> str:
    """Table 5.2: originals about 10, translated in between, rearranged about 0 (``edits``: ``network``, ``edit``
    or ``kind``, ``predicted_reward``)."""
    claim = CLAIMS["5.2"]
    if not _present(edits):
        return _line("Not testable", claim, ["no edited-transition predictions"])
    key = "edit" if "edit" in edits.columns else "kind"
    unlearnt = reward_net_unlearnt(reward_nets)
    parts = []
    for network, g in _by_network(edits):
        if network in unlearnt:
            parts.append(("Not testable", f"{network} {unlearnt[network]}"))
            continue
        means = g.groupby(key)["predicted_reward"].mean()
        missing = [k for k in ("original", "translated", "rearranged") if k not in means.index]
        if missing:
            parts.append(("Not testable", f"{network}: no {', '.join(missing)} transitions"))
            continue
        o, t, r = (float(means[k]) for k in ("original", "translated", "rearranged"))
        checks = [abs(o - COIN_REWARD) <= ABOUT_COIN_REWARD, r < ABOUT_ZERO, r < t < o]
        failed = [name for name, ok in zip(("original not about 10", "rearranged not about 0",
                                            "translated not in between"), checks) if not ok]
        parts.append((_verdict(checks), f"{network}: original {_f(o)}, translated {_f(t)}, rearranged {_f(r)}"
                      + (f" ({', '.join(failed)})" if failed else "")))
    return _combine(claim, parts)


# --- probe tables 5.3-5.10 ------------------------------------------------------------------

def _layer_losses(rows: pd.DataFrame) -> pd.Series:
    """Closed-form test loss per layer (mean over the rows' networks), sorted by layer."""
    return rows.groupby("layer")["closed_form_test_loss"].mean().sort_index()


def _by_layer(losses: pd.Series) -> str:
    return ", ".join(f"{int(layer)}: {_f(v)}" for layer, v in losses.items())


def _baseline_checks(losses: pd.Series, mean_loss: float, random: pd.DataFrame) -> tuple[list[bool | None], list[str]]:
    """Does the best layer beat mean guessing, and the random networks' best layer?"""
    best_layer, best = int(losses.idxmin()), float(losses.min())
    details = [f"best layer {best_layer}: {_f(best)} vs mean guessing {_f(mean_loss)}"]
    checks: list[bool | None] = [best < mean_loss]
    if len(random):
        random_losses = _layer_losses(random)
        random_best = float(random_losses.min())
        checks.append(best < random_best)
        details.append(f"random networks' best {_f(random_best)} (layer {int(random_losses.idxmin())})")
    else:
        checks.append(None)
        details.append("no random-network probes")
    return checks, details


def probe_finding(rows: pd.DataFrame | None, table: str, unlearnt: dict[str, str] | None = None) -> str:
    """Probe tables 5.3-5.9 (``rows``: that table's probe rows): the distance probe beats mean guessing and
    random networks and, on CoinRun (not Table 5.5, Heist), is best at layer 2."""
    coinrun = table != "5.5"
    claim = CLAIMS["coinrun-probes" if coinrun else "heist-probes"]
    if not _present(rows):
        return _line("Not testable", claim, ["no probe rows"])
    rows = rows[rows["target"] == PROBE_TARGET]
    trained, random = rows[rows["init"] == "trained"], rows[rows["init"] == "random"]
    if not len(trained):
        return _line("Not testable", claim, [f"no {PROBE_TARGET} probes of a trained network"])
    reasons = [f"{n} {unlearnt[n]}" for n in sorted(set(trained["network"].astype(str))) if unlearnt and n in unlearnt]
    if reasons:
        return _line("Not testable", claim, reasons)
    losses = _layer_losses(trained)
    checks, details = _baseline_checks(losses, float(trained["mean_loss"].mean()), random)
    if coinrun:
        if len(losses) < 2 or COINRUN_BEST_LAYER not in losses.index:
            checks.append(None)
            details.append(f"layer {COINRUN_BEST_LAYER} and another layer are needed to find the best")
        else:
            checks.append(int(losses.idxmin()) == COINRUN_BEST_LAYER)
    return _line(_verdict(checks), claim, [f"closed-form test MSE by layer {_by_layer(losses)}", *details])


def _monotone(losses: pd.Series) -> bool | None:
    if len(losses) < 2:
        return None
    return bool(np.all(np.diff(losses.to_numpy()) < 0))


def dots_probe_finding(rows: pd.DataFrame | None, dots_nets: pd.DataFrame | None = None) -> str:
    """Table 5.10: for each trained dots network, the probe of the vector of distances beats mean guessing and
    the random networks, and improves layer by layer (``rows``: the dots probe rows)."""
    claim = CLAIMS["5.10"]
    if not _present(rows):
        return _line("Not testable", claim, ["no probe rows"])
    rows = rows[rows["target"] == DOTS_TARGET]
    random = rows[rows["init"] == "random"]
    unlearnt = dots_net_unlearnt(dots_nets)
    parts = []
    for network, trained in rows[rows["init"] == "trained"].groupby("network", sort=True):
        network = str(network)
        if network in unlearnt:
            parts.append(("Not testable", f"{network} {unlearnt[network]}"))
            continue
        losses = _layer_losses(trained)
        checks, details = _baseline_checks(losses, float(trained["mean_loss"].mean()), random)
        monotone = _monotone(losses)
        checks.append(monotone)
        details.append("falls layer by layer" if monotone else "needs two layers" if monotone is None
                       else "does not fall layer by layer")
        parts.append((_verdict(checks), f"{network}: closed-form test MSE by layer {_by_layer(losses)}, " + ", ".join(details)))
    if not parts:
        return _line("Not testable", claim, ["no probes of a trained dots network"])
    return _combine(claim, parts)


# --- adversarial training -------------------------------------------------------------------

def _final_denovo(visualizations: pd.DataFrame) -> pd.Series:
    """Mean predicted reward of each network's de novo inputs at its last optimisation step."""
    denovo = visualizations[visualizations["mode"] == "denovo"]
    last = denovo.groupby("network")["step"].transform("max")
    return denovo[denovo["step"] == last].groupby("network")["predicted_reward"].mean()


def adversarial_denovo_finding(visualizations: pd.DataFrame | None, adversarial: set[str] | None = None,
                               unlearnt: dict[str, str] | None = None) -> str:
    """After adversarial training, de novo visualisations lose their high reward (``visualizations``: ``network``,
    ``mode``, ``step``, ``predicted_reward`` and ``thesis_network``, or the adversarial nets' names in ``adversarial``).
    ``unlearnt``: {network: reason} of the networks that have not learnt (:func:`reward_net_unlearnt` of the
    adversarial nets' table). A net that predicts about 0 for everything "loses" any high reward trivially, so an
    adversarially trained net that has not learnt makes the finding not testable."""
    claim = CLAIMS["adversarial"]
    if not _present(visualizations):
        return _line("Not testable", claim, ["no visualisations among this report's inputs (the chapter 5 part 1 "
                                             "report judges them beside its visualisation table)"])
    if adversarial is None:
        if "thesis_network" not in visualizations.columns:
            return _line("Not testable", claim, ["which networks were adversarially trained is not recorded"])
        adversarial = set(visualizations.loc[visualizations["thesis_network"] == "adversarial", "network"].astype(str))
    final = _final_denovo(visualizations)
    final.index = final.index.astype(str)
    ours = final[final.index.isin(adversarial)]
    ordinary = final[~final.index.isin(adversarial)]
    if not len(ours):
        return _line("Not testable", claim, ["no de novo visualisations of an adversarially trained net "
                                             "(reward.networks.<set>.visualization_modes: [denovo])"])
    untested = [f"{n} {unlearnt[n]}" for n in ours.index if unlearnt and n in unlearnt]
    if untested:
        return _line("Not testable", claim, untested)
    mean = float(ours.mean())
    details = [f"adversarially trained: mean {_f(mean)} ({', '.join(f'{n} {_f(v)}' for n, v in ours.items())})"]
    lost = mean <= DENOVO_HIGH
    if len(ordinary):
        before = float(ordinary.mean())
        details.append(f"ordinary reward nets: mean {_f(before)}")
        if before <= DENOVO_HIGH:
            return _line("Not testable", claim, details + [f"the ordinary nets' de novo inputs do not reach a high "
                                                           f"reward either (<= {DENOVO_HIGH:g})"])
    details.append(f"high = above {DENOVO_HIGH:g}")
    return _line("Holds" if lost else "Does not hold", claim, details)


# --- presentation -----------------------------------------------------------------------------

def finding_record(table_name: str, table: str, key: str, line: str) -> dict:
    """A row of a report's ``findings`` table: which table, the claim, the verdict and the line."""
    return {"table_name": table_name, "table": table, "claim": CLAIMS[key], "criterion": CRITERIA[key],
            "verdict": verdict_of(line), "line": line}


def findings_markdown(findings: pd.DataFrame, table_name: str | None = None) -> str:
    """``**Finding.** <line>`` paragraphs (those of ``table_name`` only, when given)."""
    if not _present(findings):
        return ""
    rows = findings if table_name is None else findings[findings["table_name"] == table_name]
    return "\n\n".join(f"**Finding (thesis {r['table']}).** {r['line']}" for _, r in rows.iterrows())


def findings_list_markdown(findings: pd.DataFrame, title: str) -> str:
    """Every finding line as a Markdown list under ``title``, with the thresholds that decided it."""
    items = [f"- **Thesis {r['table']}.** {r['line']}. Criterion: {r['criterion']}." for _, r in findings.iterrows()]
    return "\n".join([f"# {title}", "", *items]) + "\n"


def findings_card(findings: pd.DataFrame, chapter: int) -> list[dict]:
    """Scorecard rows: ``metric`` "finding", ``agrees`` from the verdict, the line as the note."""
    out = []
    for _, r in (findings if _present(findings) else pd.DataFrame()).iterrows():
        out.append({"chapter": chapter, "table": r["table"], "cell": f"finding: {r['claim']}", "metric": "finding",
                    "ours": np.nan, "theirs": np.nan, "diff": np.nan, "agrees": agrees(r["line"]),
                    "criterion": r["criterion"], "note": r["line"]})
    return out
