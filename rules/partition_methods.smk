# Partition methods compared (issue 21; the thesis's section 6): per network phase and method of
# `partition_methods.methods` (one job each, so a method added or re-set reruns alone, and a cluster
# runs them side by side), the method partitions the weight graph, is compared with the same method on
# shuffled graphs (quality) and with random subclusters of the same sizes (chapter 4's specialisation);
# then one job joins the rows, draws quality against specialisation and writes the conclusion.


rule partition_methods_network:
    input:
        network=lambda w: cell_network("partition_methods", w),
        data=lambda w: PATHS.dataset(wc.set_dataset(config, analysis_cell("partition_methods", w).network.network_set)),
    output:
        rows=wc.partition_methods_rows(RESULTS, "{entry}", "{condition}", "{seed}", "{phase}", "{method}"),
    params:
        comparison=lambda w: wc.partition_methods_params(config, analysis_cell("partition_methods", w), w.method),
    log:
        PATHS.log("partition_methods_network", "{entry}", "{condition}", "seed{seed}", "{phase}", "{method}"),
    benchmark:
        PATHS.benchmark("partition_methods_network", "{entry}", "{condition}", "seed{seed}", "{phase}", "{method}")
    threads: 1
    resources:
        mem_mb=config["resources"]["cluster_mem_mb"],
        runtime=config["resources"]["cluster_runtime"],
    conda:
        ENV
    script:
        "../workflow_scripts/partition_methods.py"


rule partition_methods:
    input:
        rows=lambda w: wc.partition_methods_row_targets(config, RESULTS),
    output:
        table=wc.partition_methods_outputs(RESULTS)["table"],
        figure=report(wc.partition_methods_outputs(RESULTS)["figure"], caption="../report/partition_methods.rst",
                      category="Partition methods"),
        conclusion=report(wc.partition_methods_outputs(RESULTS)["conclusion"], caption="../report/partition_methods.rst",
                          category="Partition methods"),
    log:
        PATHS.log("partition_methods", "all"),
    benchmark:
        PATHS.benchmark("partition_methods", "all")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    script:
        "../workflow_scripts/partition_methods_summary.py"
