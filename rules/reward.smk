# Reward models (thesis ch. 5). Transition datasets: one job per shard (seeded
# procgen rollouts with agent and goal positions from the game state), one merge
# (train/test split by episode, statistics), CoinRun's edited transitions. Networks
# of kinds reward, adversarial and dots: one training job each. Analyses: noise
# tests, edited transitions and visualisations per reward net (one job each), and
# linear probes: pooled features of every probe layer once per (network,
# initialisation), then one fit per (layer, target, filter). Aggregation and the
# two chapter-5 reports at the end. Display labels are params of the aggregation
# only: a job's own outputs name their network by its wildcards.


rule transition_shard:
    output:
        frames=PATHS.transition_shard("{transitions}", "{shard}", "npz"),
        rows=PATHS.transition_shard("{transitions}", "{shard}", "parquet"),
    params:
        shard=lambda w: wc.shard_params(config, w.transitions, int(w.shard)),
    log:
        PATHS.log("transition_shard", "{transitions}", "{shard}"),
    benchmark:
        PATHS.benchmark("transition_shard", "{transitions}", "{shard}")
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        ENV
    script:
        "../workflow_scripts/transition_shard.py"


rule transitions_merge:
    input:
        shards=transition_shard_files,
    output:
        transitions=PATHS.transitions_table("{transitions}", "transitions"),
        summary=PATHS.transitions_table("{transitions}", "summary"),
    params:
        merge=lambda w: wc.merge_params(config, w.transitions),
    log:
        PATHS.log("transitions_merge", "{transitions}"),
    benchmark:
        PATHS.benchmark("transitions_merge", "{transitions}")
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        ENV
    script:
        "../workflow_scripts/transitions_merge.py"


rule edit_transitions:
    input:
        transitions=PATHS.transitions_table("{transitions}", "transitions"),
    output:
        edits=directory(PATHS.edits_dir("{transitions}")),
    params:
        edit=lambda w: wc.edit_params(config, w.transitions),
    log:
        PATHS.log("edit_transitions", "{transitions}"),
    benchmark:
        PATHS.benchmark("edit_transitions", "{transitions}")
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        ENV
    script:
        "../workflow_scripts/edit_transitions.py"


rule reward_net:
    input:
        unpack(network_transitions),
    output:
        network=PATHS.network("{network_set}", "{condition}", "{seed}", "reward"),
        metrics=PATHS.training_metrics("{network_set}", "{condition}", "{seed}", "reward"),
        row=PATHS.network_row("{network_set}", "{condition}", "{seed}", "reward"),
    params:
        net=lambda w: wc.ch5_train_params(config, network_from(w)),
    log:
        PATHS.log("reward_net", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("reward_net", "{network_set}", "{condition}", "seed{seed}")
    threads: config["threads"]["train"]
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/ch5_network.py"


rule adversarial_net:
    input:
        unpack(network_transitions),
    output:
        network=PATHS.network("{network_set}", "{condition}", "{seed}", "adversarial"),
        metrics=PATHS.training_metrics("{network_set}", "{condition}", "{seed}", "adversarial"),
        summary=PATHS.adversarial_file("{network_set}", "{condition}", "{seed}", "summary.parquet"),
        epochs=PATHS.adversarial_file("{network_set}", "{condition}", "{seed}", "epochs.parquet"),
        examples=directory(PATHS.adversarial_file("{network_set}", "{condition}", "{seed}", "examples")),
    params:
        net=lambda w: wc.ch5_train_params(config, network_from(w)),
    log:
        PATHS.log("adversarial_net", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("adversarial_net", "{network_set}", "{condition}", "seed{seed}")
    threads: config["threads"]["train"]
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/ch5_network.py"


rule dots_net:
    output:
        network=PATHS.network("{network_set}", "{condition}", "{seed}", "dots"),
        metrics=PATHS.training_metrics("{network_set}", "{condition}", "{seed}", "dots"),
        row=PATHS.network_row("{network_set}", "{condition}", "{seed}", "dots"),
    params:
        net=lambda w: wc.ch5_train_params(config, network_from(w)),
    log:
        PATHS.log("dots_net", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("dots_net", "{network_set}", "{condition}", "seed{seed}")
    threads: config["threads"]["train"]
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/ch5_network.py"


rule noise_test:
    input:
        network=reward_cell_network,
    output:
        table=PATHS.reward_test("{entry}", "{condition}", "{seed}", "{phase}", "noise", "{variant}"),
    params:
        noise=lambda w: {"n": int(wc.reward_settings(config, w.entry)["noise_n"]), "clip": w.variant == "clip", "seed": 0},
    log:
        PATHS.log("noise_test", "{entry}", "{condition}", "seed{seed}", "{phase}-{variant}"),
    benchmark:
        PATHS.benchmark("noise_test", "{entry}", "{condition}", "seed{seed}", "{phase}-{variant}")
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/reward_test.py"


rule predict_edits:
    input:
        network=reward_cell_network,
        edits=reward_cell_edits,
    output:
        table=PATHS.reward_test("{entry}", "{condition}", "{seed}", "{phase}", "edits", "edits"),
    log:
        PATHS.log("predict_edits", "{entry}", "{condition}", "seed{seed}", "{phase}"),
    benchmark:
        PATHS.benchmark("predict_edits", "{entry}", "{condition}", "seed{seed}", "{phase}")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/reward_test.py"


rule visualize_reward:
    input:
        unpack(visualization_inputs),
    output:
        out=directory(PATHS.reward_test("{entry}", "{condition}", "{seed}", "{phase}", "visualization", "{mode}")),
    params:
        vis=lambda w: {"mode": w.mode, "steps": wc.reward_settings(config, w.entry)["visualization_steps"], "seed": 0},
    log:
        PATHS.log("visualize_reward", "{entry}", "{condition}", "seed{seed}", "{phase}-{mode}"),
    benchmark:
        PATHS.benchmark("visualize_reward", "{entry}", "{condition}", "seed{seed}", "{phase}-{mode}")
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/reward_test.py"


rule probe_features:
    input:
        unpack(probe_inputs),
    output:
        features=directory(PATHS.probe_features("{entry}", "{condition}", "{seed}", "{phase}", "{init}")),
    params:
        features=lambda w: wc.probe_features_params(config, probe_cell(w), w.init),
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
        fit=lambda w: wc.probe_fit_params(config, probe_cell(w), w.init, int(w.layer), w.target, w.filtered),
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


rule aggregate_reward:
    input:
        unpack(lambda w: wc.reward_aggregate_inputs(config, RESULTS)),
    output:
        **{name: PATHS.table(name) for name in CH5_TABLES},
    params:
        # the only place the display labels reach: the columns (network names among them) of each input's rows
        columns=lambda w: wc.reward_aggregate_columns(config, RESULTS),
    log:
        PATHS.log("aggregate_reward", "all"),
    benchmark:
        PATHS.benchmark("aggregate_reward", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/aggregate_reward.py"


rule report_ch5:
    input:
        **{name: PATHS.table(name) for name in CH5_REPORT_INPUTS["ch5"]},
    output:
        **chapter_report_outputs("ch5", "Chapter 5"),
    params:
        chapter="ch5",
    log:
        PATHS.log("report_ch5", "all"),
    benchmark:
        PATHS.benchmark("report_ch5", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_chapter.py"


rule report_ch5_part2:
    input:
        **{name: PATHS.table(name) for name in CH5_REPORT_INPUTS["ch5_part2"]},
    output:
        **chapter_report_outputs("ch5_part2", "Chapter 5 (probes, adversarial training, dots)"),
    params:
        chapter="ch5_part2",
    log:
        PATHS.log("report_ch5_part2", "all"),
    benchmark:
        PATHS.benchmark("report_ch5_part2", "all")
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/report_chapter.py"
