"""From results tables to the thesis's statistics (4.3.2): per network, over replicates, over all tests.

1. :func:`subcluster_percentiles`: for every true subcluster and metric, its
   centred percentile among its random subclusters (oriented so that low =
   specialised) and its effect value in the definition ``effect_definition``
   (``"thesis-text"``: ``2x / (x + mu)``; ``"original-code"``: the mean of
   ``2x / (x + r_j)`` over its random subclusters, NaN (dropped) where
   ``x <= 0``; :mod:`nnstructure.stats.effect`), recorded in every table's
   ``effect_definition`` column.
2. :func:`network_statistics`: per network (replicate) and metric, the Fisher
   statistic of its percentiles, its chi-squared p-value and its subclusters'
   effect values.
3. :func:`combined_statistics`: per condition (network set, partitioning, k,
   settings) and metric, the mean Fisher statistic over replicates, the
   replicates' p-values combined through the Bates CDF of their mean, the
   effect measure ± standard error over all subclusters of all replicates, and
   Benjamini-Hochberg significance over the family of all conditions' p-values.

The BH family holds the thesis's four metrics (accuracy drop, class range,
visualisation score, softmax entropy) of every condition, with the class
range in the definition ``family_class_range`` (``"raw"``: thesis text;
``"normalized"``: original code). The other definition's rows are judged
against the same critical p-value but do not enter the family
(``bh_family = False``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnstructure.stats import bates_cdf, benjamini_hochberg, fisher_p_value, fisher_statistic, null_fisher_statistic, percentile
from nnstructure.stats.effect import EFFECT_DEFINITIONS, effect_values
from nnstructure.stats.percentile import TIE_RULES


@dataclass(frozen=True)
class Metric:
    name: str
    proxy: str
    higher_is_specialised: bool
    title: str  # thesis column title


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy_drop", "lesion", True, "Acc. Drop"),
        Metric("class_range", "lesion", True, "Class Range"),
        Metric("class_range_normalized", "lesion", True, "Class Range (normalised)"),
        Metric("vis_score", "visualization", True, "Vis Score"),
        Metric("softmax_entropy", "visualization", False, "Softmax H"),
    )
}
CLASS_RANGE_DEFINITIONS = {"raw": "class_range", "normalized": "class_range_normalized"}

# Columns that identify a condition (replicates of it share them) when present in the results.
GROUP_COLUMNS = (
    "condition", "network_label", "arch", "dataset", "partitioning", "k", "random_pool", "n_random", "lesion_method",
    "vis_method", "vis_parameterization", "vis_steps", "vis_lr", "vis_transforms", "vis_objective", "vis_jitter",
    "vis_init_sd",
)
REPLICATE_COLUMN = "replicate"


def _group_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in GROUP_COLUMNS if c in df.columns]


def subcluster_percentiles(results: pd.DataFrame, ties: str = "strict", effect_definition: str = "thesis-text") -> pd.DataFrame:
    """One row per (condition, replicate, true subcluster, metric): value, random mean, percentile, effect value."""
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    if effect_definition not in EFFECT_DEFINITIONS:
        raise ValueError(f"effect_definition must be one of {EFFECT_DEFINITIONS}, got {effect_definition!r}")
    needed = {REPLICATE_COLUMN, "proxy", "layer", "label", "is_true", "random_index"}
    missing = needed - set(results.columns)
    if missing:
        raise ValueError(f"results tables need columns {sorted(needed)}; missing {sorted(missing)}")
    keys = _group_columns(results) + [REPLICATE_COLUMN]
    out = []
    for proxy, frame in results.groupby("proxy", sort=False):
        metrics = [m for m in METRICS.values() if m.proxy == proxy and m.name in frame.columns]
        for key, net in frame.groupby(keys, sort=False, dropna=False):
            ident = dict(zip(keys, key))
            net = net.sort_values(["layer_position", "label", "random_index"]) if "layer_position" in net else net
            true = net[net["is_true"]].set_index(["layer", "label"])
            rand = net[~net["is_true"]]
            n_random = rand.groupby(["layer", "label"]).size()
            if true.empty:
                continue
            if not (n_random.reindex(true.index).fillna(0) > 0).all():
                raise ValueError(f"some true subclusters of {ident} have no random subclusters in the results")
            for metric in metrics:
                rand_values = rand.groupby(["layer", "label"], sort=False)[metric.name].apply(lambda s: s.to_numpy(np.float64))
                rand_values = rand_values.reindex(true.index)
                widths = {len(v) for v in rand_values}
                if len(widths) != 1:
                    raise ValueError(f"true subclusters of {ident} have different numbers of random subclusters {sorted(widths)}")
                r = np.stack(rand_values.to_numpy())
                x = true[metric.name].to_numpy(np.float64)
                pct = percentile(x, r, metric.higher_is_specialised, ties=ties)
                eff = effect_values(x, r, effect_definition)
                with np.errstate(invalid="ignore"):
                    rmean = r.mean(axis=1)
                for (layer, label), xi, mi, pi, ei, size in zip(true.index, x, rmean, pct, eff, true["size"]):
                    out.append({**ident, "proxy": proxy, "metric": metric.name, "layer": layer, "label": int(label),
                                "size": int(size), "value": xi, "random_mean": mi, "n_random_subclusters": r.shape[1],
                                "percentile": pi, "effect_value": ei, "ties": ties,
                                "effect_definition": effect_definition})
    return pd.DataFrame(out)


def network_statistics(percentiles: pd.DataFrame) -> pd.DataFrame:
    """One row per (condition, replicate, metric): ``fisher``, ``p_value``, ``n_subclusters``, ``effect``, ``effect_se``
    (over the ``n_effect_subclusters`` subclusters the effect definition keeps)."""
    if percentiles.empty:
        return pd.DataFrame()
    keys = _group_columns(percentiles) + [REPLICATE_COLUMN, "proxy", "metric"]
    rows = []
    for key, frame in percentiles.groupby(keys, sort=False, dropna=False):
        n = len(frame)
        fisher = fisher_statistic(frame["percentile"])
        eff = frame["effect_value"].to_numpy(np.float64)
        eff = eff[~np.isnan(eff)]  # subclusters the effect definition drops
        rows.append({
            **dict(zip(keys, key)), "n_subclusters": n, "fisher": fisher, "p_value": fisher_p_value(fisher, n),
            "null_fisher": null_fisher_statistic(int(frame["n_random_subclusters"].iloc[0])),
            **_effect_summary(eff), "effect_values": [float(v) for v in eff], "ties": frame["ties"].iloc[0],
            "effect_definition": frame["effect_definition"].iloc[0],
        })
    return pd.DataFrame(rows)


def _effect_summary(eff: np.ndarray) -> dict:
    """Mean, standard error and count of the kept effect values (NaN mean where none is kept)."""
    n = eff.size
    return {"n_effect_subclusters": int(n), "effect": float(eff.mean()) if n else float("nan"),
            "effect_se": float(eff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")}


def combined_statistics(network_stats: pd.DataFrame, alpha: float = 0.05, family_class_range: str = "raw") -> pd.DataFrame:
    """One row per (condition, metric) over its replicates, with BH significance (module docstring)."""
    if family_class_range not in CLASS_RANGE_DEFINITIONS:
        raise ValueError(f"family_class_range must be one of {tuple(CLASS_RANGE_DEFINITIONS)}, got {family_class_range!r}")
    if network_stats.empty:
        return pd.DataFrame()
    keys = _group_columns(network_stats) + ["proxy", "metric"]
    rows = []
    for key, frame in network_stats.groupby(keys, sort=False, dropna=False):
        metric = METRICS[frame["metric"].iloc[0]]
        eff = np.concatenate([np.asarray(v, dtype=np.float64) for v in frame["effect_values"]])
        n_networks = len(frame)
        mean_p = float(frame["p_value"].mean())
        summary = _effect_summary(eff)
        effect, se = summary["effect"], summary["effect_se"]
        direction = 1.0 if metric.higher_is_specialised else -1.0
        rows.append({
            **dict(zip(keys, key)),
            "higher_is_specialised": metric.higher_is_specialised,
            "n_networks": n_networks,
            "n_subclusters": int(frame["n_subclusters"].sum()),
            "fisher": float(frame["fisher"].mean()),
            "fisher_sd": float(frame["fisher"].std(ddof=1)) if n_networks > 1 else float("nan"),
            "network_fishers": [float(v) for v in frame["fisher"]],
            "network_p_values": [float(v) for v in frame["p_value"]],
            "p_value": float(bates_cdf(mean_p, n_networks)),
            "null_fisher": float(frame["null_fisher"].iloc[0]),
            "effect": effect,
            "effect_se": se,
            "n_effect_subclusters": summary["n_effect_subclusters"],
            "effect_specialised": bool(np.isfinite(se) and direction * (effect - 1.0) > 2 * se),
            "ties": frame["ties"].iloc[0],
            "effect_definition": frame["effect_definition"].iloc[0],
        })
    table = pd.DataFrame(rows)
    family_metrics = {"accuracy_drop", "vis_score", "softmax_entropy", CLASS_RANGE_DEFINITIONS[family_class_range]}
    in_family = table["metric"].isin(family_metrics).to_numpy()
    bh = benjamini_hochberg(table.loc[in_family, "p_value"].to_numpy(), alpha=alpha)
    table["bh_family"] = in_family
    table["bh_family_class_range"] = family_class_range
    table["bh_alpha"] = alpha
    table["bh_n_tests"] = bh.n_tests
    table["bh_critical_p"] = np.nan if bh.critical_p is None else bh.critical_p
    table["significant"] = (table["p_value"] <= bh.critical_p) if bh.critical_p is not None else False
    return table


def specialization_statistics(
    results: pd.DataFrame, ties: str = "strict", alpha: float = 0.05, family_class_range: str = "raw",
    effect_definition: str = "thesis-text",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(combined, per_network, percentiles)`` of one or more concatenated results tables."""
    if results.empty:
        raise ValueError("the results tables hold no subclusters (every layer was a single cluster or too small to split)")
    pct = subcluster_percentiles(results, ties=ties, effect_definition=effect_definition)
    if pct.empty:
        raise ValueError("the results tables hold no true subclusters")
    per_network = network_statistics(pct)
    return combined_statistics(per_network, alpha=alpha, family_class_range=family_class_range), per_network, pct
