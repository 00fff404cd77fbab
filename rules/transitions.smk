# Transition datasets (thesis ch. 5): one job per shard (seeded procgen rollouts
# with agent and goal positions from the game state), one merge (train/test split
# by episode, statistics), CoinRun's edited transitions.


# A transition dataset feeds chapter 5's networks, the longest training jobs of every preset
# that has them: its shards and merge go before any training job, so a reward net can start
# as soon as possible instead of after the chapter-3 networks.
TRANSITIONS_PRIORITY = TRAIN_PRIORITY + 1


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
    priority: TRANSITIONS_PRIORITY
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
    priority: TRANSITIONS_PRIORITY
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
