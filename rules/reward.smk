# Reward nets (thesis ch. 5): noise tests, edited transitions and visualisations
# per reward net (one job each), then the aggregation of chapter 5's tables (reward
# nets, their tests, probes, adversarial and dots nets). The transition datasets are
# in transitions.smk, the networks in networks.smk, the probes in probes.smk and the
# chapter's two reports in report.smk. Display labels are params of the aggregation
# only: a job's own outputs name their network by its wildcards.


rule noise_test:
    input:
        network=lambda w: cell_network("reward", w),
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
        network=lambda w: cell_network("reward", w),
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


rule aggregate_reward:
    input:
        unpack(lambda w: wc.reward_aggregate_inputs(config, RESULTS)),
    output:
        **{name: PATHS.table(name) for name in wc.CH5_TABLES},
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
