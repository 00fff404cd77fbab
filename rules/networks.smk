# Networks: trained (one job per set x condition x seed), randomly initialised, or
# imported from ImageNet weight files, and chapter 5's networks of kinds reward,
# adversarial (trained on a transition dataset) and dots: one training job each.
# A network is made once, whichever analyses use it; its params are exactly the
# settings that change it (no device, no analysis setting, no training setting
# for an untrained network; no display label).
#
# Training jobs go first when cores are free (priority): they are the long poles of
# every DAG, and the many short jobs downstream of the first networks would otherwise
# hold the cores while the last training job starts late and runs alone.
TRAIN_PRIORITY = 10


rule train:
    input:
        data=network_dataset,
    output:
        unpruned=PATHS.network("{network_set}", "{condition}", "{seed}", "unpruned"),
        final=PATHS.network("{network_set}", "{condition}", "{seed}", "pruned"),
        metrics=PATHS.training_metrics("{network_set}", "{condition}", "{seed}"),
    params:
        train=lambda w: wc.train_params(config, network_from(w)),
    log:
        PATHS.log("train", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("train", "{network_set}", "{condition}", "seed{seed}")
    threads: config["threads"]["train"]
    priority: TRAIN_PRIORITY
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/train.py"


# A randomly initialised network is built from its dataset's shape (nnstructure.data.registry.SHAPES):
# it reads no data, so a random-init VGG runs without CIFAR-10.


rule init_network:
    output:
        network=PATHS.network("{network_set}", "{condition}", "{seed}", "init"),
    params:
        init=lambda w: wc.init_params(config, network_from(w)),
    log:
        PATHS.log("init_network", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("init_network", "{network_set}", "{condition}", "seed{seed}")
    threads: 1
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/init_network.py"


# The weight file is looked for in the data directory like the real datasets: its checksum
# (a param) says what it holds, so replacing it reruns this architecture's jobs and moving the
# data directory reruns nothing (a declared input would tie every ImageNet job to the path).


rule import_pretrained:
    output:
        network=PATHS.network("{network_set}", "{condition}", "{seed}", "pretrained"),
    params:
        pretrained=lambda w: wc.pretrained_params(config, network_from(w)),
    log:
        PATHS.log("import_pretrained", "{network_set}", "{condition}", "seed{seed}"),
    benchmark:
        PATHS.benchmark("import_pretrained", "{network_set}", "{condition}", "seed{seed}")
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        ENV
    script:
        "../workflow_scripts/import_pretrained.py"


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
    priority: TRAIN_PRIORITY
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
    priority: TRAIN_PRIORITY
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
    priority: TRAIN_PRIORITY
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime"],
        gpu=config["resources"]["train_gpu"],
    conda:
        ENV
    script:
        "../workflow_scripts/ch5_network.py"
