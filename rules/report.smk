# Aggregation and reporting: one Parquet table of every network's clusterability,
# thesis-style tables, figures, the reproduction scorecard, and (with
# `snakemake --report`) an HTML report.


def has_kind(kind):
    return any(wc.experiment(config, e).get("kind", "clusterability") == kind for e in wc.enabled_experiments(config))


def has_shuffles():
    return any(
        wc.clustering_settings(config, e)["n_shuffles"] > 0 for e in wc.enabled_experiments(config)
    )


def table_experiments():
    """Experiments that get a thesis-style table (random-init ones get the random-init figure)."""
    names = [e for e in wc.enabled_experiments(config) if wc.experiment(config, e).get("kind", "clusterability") == "clusterability"]
    return names + (["imagenet"] if IMAGENET_ARCHS else [])


def report_outputs():
    out = {
        "table": report(f"{RESULTS}/report/table_clusterability.md", caption="../report/table.rst", category="Tables"),
        "table_parquet": f"{RESULTS}/report/table_clusterability.parquet",
        "scorecard": report(f"{RESULTS}/report/scorecard.md", caption="../report/scorecard.rst", category="Scorecard"),
        "scorecard_parquet": f"{RESULTS}/report/scorecard.parquet",
        "fig_ncut_vs_shuffles": report(
            f"{RESULTS}/report/fig_ncut_vs_shuffles.png", caption="../report/fig_ncut_vs_shuffles.rst", category="Figures"
        ),
    }
    for name in table_experiments():
        out[f"table_{name}"] = report(
            f"{RESULTS}/report/tables/{name}.md",
            caption="../report/table.rst",
            category="Tables",
            labels={"experiment": name},
        )
        out[f"table_{name}_parquet"] = f"{RESULTS}/report/tables/{name}.parquet"
    if has_shuffles():
        out["fig_shuffle_distributions"] = report(
            f"{RESULTS}/report/fig_shuffle_distributions.png",
            caption="../report/fig_shuffle_distributions.rst",
            category="Figures",
        )
    if has_kind("random_init"):
        out["fig_random_init"] = report(
            f"{RESULTS}/report/fig_random_init.png", caption="../report/fig_random_init.rst", category="Figures"
        )
        out["random_init_scorecard"] = f"{RESULTS}/report/scorecard_random_init.parquet"
    return out


def report_targets():
    if not wc.enabled_experiments(config) and not IMAGENET_ARCHS:
        return []
    return [f"{RESULTS}/tables/clusterability.parquet", f"{RESULTS}/report/scorecard.md"]


def settings_note():
    t, c = config["train"], config["clustering"]
    return (
        f"preset '{config['preset']}': default training {t['epochs']} + {t['prune_epochs']} pruning epochs "
        f"(experiments may override; see the settings column), k = {c['k']}, {c['n_shuffles']} '{c['shuffle']}' "
        f"shuffles, n_init = {c['n_init']}, kernel norm {c['kernel_norm']}, batch-norm folding {c['fold_batchnorm']}."
    )


rule aggregate:
    input:
        # ImageNet rows (when weights are present) come last in both lists, keeping them aligned.
        rows=lambda w: wc.row_targets(config, RESULTS) + imagenet_targets(),
        shuffles=lambda w: wc.shuffle_targets(config, RESULTS) + imagenet_shuffle_targets(),
    output:
        rows=f"{RESULTS}/tables/clusterability.parquet",
        shuffles=f"{RESULTS}/tables/shuffles.parquet",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/aggregate.py"


rule report_tables:
    input:
        rows=rules.aggregate.output.rows,
        shuffles=rules.aggregate.output.shuffles,
    output:
        **report_outputs(),
    params:
        note=settings_note(),
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/report_tables.py"
