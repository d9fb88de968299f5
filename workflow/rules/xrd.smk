from fingerprintml.xrd import plan as xrd_plan

XRD = config["xrd"]
XRD_RESULTS = "results/xrd/{dataset}"
XRD_LOGS = "logs/xrd/{dataset}"
XRD_BENCHMARKS = "benchmarks/xrd/{dataset}"
# What the xrd target builds: xrd.dataset, and the dataset `user` whenever xrd.cif_dir is set.
XRD_DATASETS = xrd_plan.built_datasets(datasets("xrd"), XRD["cif_dir"])
xrd_plan.check_user_library(XRD["cif_dir"], XRD["identify"])
XRD_SPLITS = ["copy"] + (
    ["structure"] if XRD["evaluation"]["structure_split_fraction"] > 0 else []
)
XRD_FIGURES = ["learning_curves", "accuracy_vs_strength", "examples", "reliability"]
# Datasets whose queries are declared measured patterns (benchmarked against their names) instead of simulated ones.
XRD_MEASURED = [
    name for name in XRD_DATASETS if "queries" in dataset_settings(XRD, "xrd", name)
]
# Local paths of the registry's files under a key folder named in a dataset block (fetched by the download rule).
xrd_declared = lambda folder: [
    downloaded(key) for key in xrd_plan.registry_keys(folder, REMOTE_FILES)
]
# Conversion shards: fixed for a demo library, from the COD list once downloaded (a checkpoint), from the listing of
# xrd.cif_dir for `user` (a new or changed CIF reruns only its shard).
xrd_shards = lambda wildcards: xrd_plan.conversion_shards(
    wildcards.dataset,
    dataset_block("xrd", wildcards),
    XRD["shard_size"],
    cod_urls=lambda: checkpoints.xrd_cod_list.get(**wildcards).output[0],
    cif_dir=XRD["cif_dir"],
)
# Jobs that hold the augmented training set ask for it (float32 patterns of every phase: about 20 GB for the 8,172
# COD phases x 105 copies on the paper grid, a few MB for the demo), from the settings and the library table.
xrd_memory_mb = lambda factor: lambda wildcards, input: xrd_plan.job_memory_mb(
    dataset_block("xrd", wildcards), input.phases, factor
)


wildcard_constraints:
    shard=r"\d+",
    split="copy|structure",


rule xrd:
    input:
        expand(
            [
                f"{XRD_RESULTS}/metrics.csv",
                f"{XRD_RESULTS}/identify.csv",
                f"{XRD_RESULTS}/provenance.yaml",
            ],
            dataset=XRD_DATASETS,
        ),
        expand(
            f"{XRD_RESULTS}/figures/{{name}}.{{ext}}",
            dataset=XRD_DATASETS,
            name=XRD_FIGURES,
            ext=["pdf", "png"],
        ),
        expand(
            f"{XRD_RESULTS}/user/identify.csv",
            dataset=XRD_DATASETS if XRD["query_dir"] else [],
        ),
        expand(f"{XRD_RESULTS}/benchmark.csv", dataset=XRD_MEASURED),


checkpoint xrd_cod_list:
    input:
        lambda wildcards: downloaded(per_dataset("xrd", "cod_list")(wildcards)),
    output:
        f"{XRD_RESULTS}/cod/urls.txt",
    log:
        f"{XRD_LOGS}/cod_list.log",
    conda:
        "../../envs/xrd-data.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/xrd/cod_list.py"


rule xrd_fetch:
    input:
        rules.xrd_cod_list.output[0],
    output:
        f"{XRD_RESULTS}/cod/fetch/{{shard}}.csv",
    log:
        f"{XRD_LOGS}/fetch/{{shard}}.log",
    conda:
        "../../envs/xrd-data.yaml"
    resources:
        mem_mb=500,
        runtime=120,
    params:
        shard_size=XRD["shard_size"],
        cif_root=lambda wildcards: f"results/xrd/{wildcards.dataset}/cod/cifs",
        mirror=config["download"]["mirror"],
        retries=config["download"]["retries"],
        timeout=config["download"]["timeout"],
        delay=XRD["fetch"]["delay"],
        backoff=XRD["fetch"]["backoff"],
    script:
        "../scripts/xrd/fetch_cifs.py"


rule xrd_demo_library:
    output:
        directory(f"{XRD_RESULTS}/cifs"),
    log:
        f"{XRD_LOGS}/demo_library.log",
    conda:
        "../../envs/xrd-data.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        min_spacing=lambda wildcards: xrd_plan.demo_library(
            dataset_block("xrd", wildcards)
        )["min_spacing"],
    script:
        "../scripts/xrd/demo_library.py"


rule xrd_convert:
    input:
        unpack(
            lambda wildcards: xrd_plan.conversion_input(
                wildcards.dataset,
                dataset_block("xrd", wildcards),
                wildcards.shard,
                XRD["shard_size"],
                results=f"results/xrd/{wildcards.dataset}",
                cif_dir=XRD["cif_dir"],
                declared=xrd_declared,
            )
        ),
    output:
        phases=f"{XRD_RESULTS}/cache/{{shard}}.csv",
        rejects=f"{XRD_RESULTS}/cache/{{shard}}.rejects.csv",
        cache=f"{XRD_RESULTS}/cache/{{shard}}.pkl",
    log:
        f"{XRD_LOGS}/convert/{{shard}}.log",
    benchmark:
        f"{XRD_BENCHMARKS}/convert/{{shard}}.tsv"
    conda:
        "../../envs/xrd-data.yaml"
    params:
        source=lambda wildcards: xrd_plan.shard_source(
            wildcards.dataset, dataset_block("xrd", wildcards), wildcards.shard
        )[0],
        shard=lambda wildcards: xrd_plan.shard_source(
            wildcards.dataset, dataset_block("xrd", wildcards), wildcards.shard
        )[1],
        demo_shards=lambda wildcards: xrd_plan.demo_shards(
            dataset_block("xrd", wildcards)
        ),
        wavelength=XRD["wavelength"],
        two_theta_max=per_dataset("xrd", "grid.stop"),
    script:
        "../scripts/xrd/convert.py"


rule xrd_library:
    input:
        phases=lambda wildcards: expand(
            rules.xrd_convert.output.phases,
            dataset=wildcards.dataset,
            shard=xrd_shards(wildcards),
        ),
        rejects=lambda wildcards: expand(
            rules.xrd_convert.output.rejects,
            dataset=wildcards.dataset,
            shard=xrd_shards(wildcards),
        ),
        caches=lambda wildcards: expand(
            rules.xrd_convert.output.cache,
            dataset=wildcards.dataset,
            shard=xrd_shards(wildcards),
        ),
    output:
        phases=study_report(
            f"{XRD_RESULTS}/library/phases.csv", "xrd", "phases", "tables"
        ),
        rejects=study_report(
            f"{XRD_RESULTS}/library/rejects.csv", "xrd", "rejects", "tables"
        ),
        caches=f"{XRD_RESULTS}/library/reflections.pkl",
    log:
        f"{XRD_LOGS}/library.log",
    conda:
        "../../envs/xrd-data.yaml"
    resources:
        runtime=10,
    script:
        "../scripts/xrd/library.py"


rule xrd_augment:
    input:
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
    output:
        f"{XRD_RESULTS}/data/{{split}}.npz",
    log:
        f"{XRD_LOGS}/augment/{{split}}.log",
    benchmark:
        f"{XRD_BENCHMARKS}/augment/{{split}}.tsv"
    conda:
        "../../envs/xrd-data.yaml"
    threads: 2
    resources:
        mem_mb=xrd_memory_mb(1.25),
    params:
        seed=XRD["seed"],
        grid=per_dataset("xrd", "grid"),
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
        preprocessing=XRD["preprocessing"],
        copies=per_dataset("xrd", "training.copies"),
        validation_copies=per_dataset("xrd", "training.validation_copies"),
        structure_fraction=XRD["evaluation"]["structure_split_fraction"],
    script:
        "../scripts/xrd/augment.py"


rule xrd_train:
    input:
        data=rules.xrd_augment.output[0],
        phases=rules.xrd_library.output.phases,
    output:
        model=f"{XRD_RESULTS}/models/{{split}}.pt",
        history=f"{XRD_RESULTS}/models/{{split}}.history.csv",
    log:
        f"{XRD_LOGS}/train/{{split}}.log",
    benchmark:
        f"{XRD_BENCHMARKS}/train/{{split}}.tsv"
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        mem_mb=xrd_memory_mb(2),
        runtime=600,
        gpu=XRD["gpu"],
    params:
        seed=XRD["seed"],
        device=XRD["device"],
        architecture=per_dataset("xrd", "model"),
        training=lambda wildcards: {
            k: v
            for k, v in dataset_block("xrd", wildcards)["training"].items()
            if k not in ("copies", "validation_copies")
        },
    script:
        "../scripts/xrd/train.py"


rule xrd_evaluate:
    input:
        caches=rules.xrd_library.output.caches,
        model_copy=f"{XRD_RESULTS}/models/copy.pt",
        model_structure=(
            f"{XRD_RESULTS}/models/structure.pt" if "structure" in XRD_SPLITS else []
        ),
    output:
        metrics=study_report(f"{XRD_RESULTS}/metrics.csv", "xrd", "metrics", "tables"),
        strength=f"{XRD_RESULTS}/accuracy_vs_strength.csv",
        examples=f"{XRD_RESULTS}/examples.npz",
    log:
        f"{XRD_LOGS}/evaluate.log",
    benchmark:
        f"{XRD_BENCHMARKS}/evaluate.tsv"
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        gpu=XRD["gpu"],
    params:
        seed=XRD["seed"],
        device=XRD["device"],
        grid=per_dataset("xrd", "grid"),
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
        preprocessing=XRD["preprocessing"],
        evaluation=XRD["evaluation"],
    script:
        "../scripts/xrd/evaluate.py"


rule xrd_figure_learning_curves:
    input:
        expand(rules.xrd_train.output.history, split=XRD_SPLITS, allow_missing=True),
    output:
        pdf=f"{XRD_RESULTS}/figures/learning_curves.pdf",
        png=study_report(
            f"{XRD_RESULTS}/figures/learning_curves.png",
            "xrd",
            "learning_curves",
            "figures",
        ),
    log:
        f"{XRD_LOGS}/figures/learning_curves.log",
    conda:
        "../../envs/xrd-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        splits=XRD_SPLITS,
    script:
        "../scripts/xrd/plot_learning.py"


rule xrd_figure_accuracy_vs_strength:
    input:
        rules.xrd_evaluate.output.strength,
    output:
        pdf=f"{XRD_RESULTS}/figures/accuracy_vs_strength.pdf",
        png=study_report(
            f"{XRD_RESULTS}/figures/accuracy_vs_strength.png",
            "xrd",
            "accuracy_vs_strength",
            "figures",
        ),
    log:
        f"{XRD_LOGS}/figures/accuracy_vs_strength.log",
    conda:
        "../../envs/xrd-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/xrd/plot_strength.py"


rule xrd_figure_examples:
    input:
        examples=rules.xrd_evaluate.output.examples,
        phases=rules.xrd_library.output.phases,
    output:
        pdf=f"{XRD_RESULTS}/figures/examples.pdf",
        png=study_report(
            f"{XRD_RESULTS}/figures/examples.png", "xrd", "examples", "figures"
        ),
    log:
        f"{XRD_LOGS}/figures/examples.log",
    conda:
        "../../envs/xrd-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/xrd/plot_examples.py"


rule xrd_demo_queries:
    input:
        caches=rules.xrd_library.output.caches,
    output:
        directory(f"{XRD_RESULTS}/queries"),
    log:
        f"{XRD_LOGS}/demo_queries.log",
    conda:
        "../../envs/xrd-data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=XRD["seed"],
        queries=XRD["identify"]["simulated_queries"],
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
    script:
        "../scripts/xrd/demo_queries.py"


rule xrd_calibrate:
    input:
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
        model=f"{XRD_RESULTS}/models/copy.pt",
    output:
        confidence=f"{XRD_RESULTS}/calibration/confidence.json",
        mixtures=f"{XRD_RESULTS}/calibration/mixtures.csv",
        reliability=study_report(
            f"{XRD_RESULTS}/calibration/reliability.csv",
            "xrd",
            "calibration",
            "tables",
        ),
    log:
        f"{XRD_LOGS}/calibrate.log",
    benchmark:
        f"{XRD_BENCHMARKS}/calibrate.tsv"
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        runtime=60,
        gpu=XRD["gpu"],
    params:
        seed=XRD["seed"],
        device=XRD["device"],
        grid=per_dataset("xrd", "grid"),
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
        identify=XRD["identify"],
        candidates=per_dataset("xrd", "candidates"),
        preprocessing=XRD["preprocessing"],
    script:
        "../scripts/xrd/calibrate.py"


rule xrd_figure_reliability:
    input:
        reliability=rules.xrd_calibrate.output.reliability,
        confidence=rules.xrd_calibrate.output.confidence,
    output:
        pdf=f"{XRD_RESULTS}/figures/reliability.pdf",
        png=study_report(
            f"{XRD_RESULTS}/figures/reliability.png", "xrd", "reliability", "figures"
        ),
    log:
        f"{XRD_LOGS}/figures/reliability.log",
    conda:
        "../../envs/xrd-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/xrd/plot_reliability.py"


rule xrd_identify:
    input:
        # The dataset's declared measured patterns, else simulated ones of its library.
        queries=lambda wildcards: (
            xrd_declared(dataset_block("xrd", wildcards)["queries"])
            if "queries" in dataset_block("xrd", wildcards)
            else f"results/xrd/{wildcards.dataset}/queries"
        ),
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
        model=f"{XRD_RESULTS}/models/copy.pt",
        confidence=rules.xrd_calibrate.output.confidence,
    output:
        table=study_report(f"{XRD_RESULTS}/identify.csv", "xrd", "identify", "tables"),
        rejects=f"{XRD_RESULTS}/identify_rejects.csv",
        fits=directory(f"{XRD_RESULTS}/fits"),
    log:
        f"{XRD_LOGS}/identify.log",
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        runtime=30,
        gpu=XRD["gpu"],
    params:
        device=XRD["device"],
        grid=per_dataset("xrd", "grid"),
        wavelength=XRD["wavelength"],
        identify=XRD["identify"],
        candidates=per_dataset("xrd", "candidates"),
        preprocessing=XRD["preprocessing"],
    script:
        "../scripts/xrd/identify.py"


# The user's measured patterns (xrd.query_dir), identified with the dataset's model.
use rule xrd_identify as xrd_identify_user with:
    input:
        queries=lambda wildcards: xrd_plan.query_dir(XRD["query_dir"]),
        user=lambda wildcards: user_files("xrd"),
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
        model=f"{XRD_RESULTS}/models/copy.pt",
        confidence=rules.xrd_calibrate.output.confidence,
    output:
        table=study_report(
            f"{XRD_RESULTS}/user/identify.csv", "xrd", "identify", "tables"
        ),
        rejects=f"{XRD_RESULTS}/user/identify_rejects.csv",
        fits=directory(f"{XRD_RESULTS}/user/fits"),
    log:
        f"{XRD_LOGS}/user/identify.log",


# The measured queries of a dataset that declares them, against the truth their names give.
rule xrd_benchmark:
    input:
        queries=lambda wildcards: xrd_declared(
            dataset_block("xrd", wildcards)["queries"]
        ),
        identify=rules.xrd_identify.output.table,
        rejects=rules.xrd_identify.output.rejects,
        phases=rules.xrd_library.output.phases,
        model=f"{XRD_RESULTS}/models/copy.pt",
    output:
        table=study_report(f"{XRD_RESULTS}/benchmark.csv", "xrd", "benchmark", "tables"),
        confidence=f"{XRD_RESULTS}/benchmark_confidence.csv",
    log:
        f"{XRD_LOGS}/benchmark.log",
    conda:
        "../../envs/xrd-ml.yaml"
    resources:
        runtime=10,
    params:
        references=lambda wildcards: [
            Path(key).stem
            for key in xrd_plan.registry_keys(
                dataset_block("xrd", wildcards)["cifs"], REMOTE_FILES
            )
        ],
        device=XRD["device"],
        grid=per_dataset("xrd", "grid"),
        wavelength=XRD["wavelength"],
        identify=XRD["identify"],
        candidates=per_dataset("xrd", "candidates"),
        preprocessing=XRD["preprocessing"],
    script:
        "../scripts/xrd/benchmark.py"
