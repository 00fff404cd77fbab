# Linear probes (thesis ch. 5.7, 5.9): pooled features of every probe layer once
# per (network, initialisation), then one fit per (layer, target, filter). Their
# rows reach chapter 5's aggregation (reward.smk).


rule probe_features:
    input:
        unpack(probe_inputs),
    output:
        features=directory(PATHS.probe_features("{entry}", "{condition}", "{seed}", "{phase}", "{init}")),
    params:
        features=lambda w: wc.probe_features_params(config, analysis_cell("probes", w), w.init),
    log:
        PATHS.log("probe_features", "{entry}", "{condition}", "seed{seed}", "{phase}-{init}"),
    benchmark:
        PATHS.benchmark("probe_features", "{entry}", "{condition}", "seed{seed}", "{phase}-{init}")
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/probe_features.py"


rule probe_fit:
    input:
        features=rules.probe_features.output.features,
    output:
        row=PATHS.probe_row("{entry}", "{condition}", "{seed}", "{phase}", "{init}", "{layer}", "{target}", "{filtered}"),
    params:
        fit=lambda w: wc.probe_fit_params(config, analysis_cell("probes", w), w.init, int(w.layer), w.target, w.filtered),
    log:
        PATHS.log("probe_fit", "{entry}", "{condition}", "seed{seed}", "{phase}-{init}-layer{layer}-{target}-{filtered}"),
    benchmark:
        PATHS.benchmark("probe_fit", "{entry}", "{condition}", "seed{seed}", "{phase}-{init}-layer{layer}-{target}-{filtered}")
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=60,
    conda:
        ENV
    script:
        "../workflow_scripts/probe_fit.py"
