# Aliased: the rule files share one namespace (xrd.smk imports its own shard_names).
from fingerprintml.particles.shards import (
    count_listed as par_count_listed,
    shard_names as par_shard_names,
)

PAR = config["particles"]
PAR_RESULTS = "results/particles"
PAR_DATASET = PAR["dataset"]
PAR_RAW = f"{PAR_RESULTS}/data/raw"
PAR_RUNS = ["full", "image_only"] if PAR["training"]["ablation"] else ["full"]
PAR_SIZE = PAR["model"]["size"][PAR_DATASET]
PAR_TRAINING = {
    **{
        k: v
        for k, v in PAR["training"].items()
        if k not in ("epochs", "learning_rate", "ablation")
    },
    "epochs": PAR["training"]["epochs"][PAR_DATASET],
    "learning_rate": PAR["training"]["learning_rate"][PAR_DATASET],
}
PAR_PER_SHARD = PAR["inference"]["per_shard"][PAR_DATASET]


# Your own folder (`inference.images`) is listed at DAG time; the demo's and the paper's images exist only once
# generated or extracted, so their shards follow the rows of the listing checkpoint, in the same snakemake run.
if PAR["inference"]["images"]:
    from fingerprintml.particles.data import list_images

    PAR_USER_IMAGES = len(list_images(PAR["inference"]["images"]))
else:
    PAR_USER_IMAGES = None
par_gathered = lambda wildcards, output: expand(
    output,
    shard=par_shard_names(
        (
            par_count_listed(checkpoints.particles_listing.get().output[0])
            if PAR_USER_IMAGES is None
            else PAR_USER_IMAGES
        ),
        PAR_PER_SHARD,
    ),
)
PAR_FIGURES = ["learning_curves", "confusion_matrix", "umap"]
PAR_OUTPUTS = [
    f"{PAR_RESULTS}/test_metrics.csv",
    f"{PAR_RESULTS}/per_class_metrics.csv",
    f"{PAR_RESULTS}/confusion_matrix.csv",
    f"{PAR_RESULTS}/training_history.csv",
    f"{PAR_RESULTS}/umap_test.csv",
    f"{PAR_RESULTS}/provenance.yaml",
    *[
        f"{PAR_RESULTS}/figures/{n}.{ext}"
        for n in PAR_FIGURES
        for ext in ("pdf", "png")
    ],
    f"{PAR_RESULTS}/inference/predictions.parquet",
    f"{PAR_RESULTS}/inference/class_counts.csv",
    f"{PAR_RESULTS}/inference/rejected_images.csv",
]


wildcard_constraints:
    run="full|image_only",
    shard=r"\d+",


rule particles:
    input:
        PAR_OUTPUTS,


rule particles_download:
    output:
        "resources/downloads/particles/zenodo-7591282.zip",
    log:
        "logs/particles/download.log",
    conda:
        "../../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=600,
    params:
        url=PAR["paper"]["url"],
        sha256=PAR["paper"]["sha256"],
        download=config["download"],
    script:
        "../scripts/particles/download.py"


rule particles_dataset:
    input:
        **(
            {"archive": rules.particles_download.output[0]}
            if PAR_DATASET == "paper"
            else {"classes": PAR["demo"]["classes"]}
        ),
    output:
        labelled=f"{PAR_RESULTS}/data/labelled.csv",
        unlabelled=f"{PAR_RESULTS}/data/unlabelled.csv",
    log:
        "logs/particles/dataset.log",
    benchmark:
        "benchmarks/particles/dataset.tsv"
    conda:
        "../../envs/particles-data.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=600 if PAR_DATASET == "paper" else 10,
    params:
        dataset=PAR_DATASET,
        root=PAR_RAW,
        seed=PAR["seed"],
        demo=PAR["demo"],
    script:
        "../scripts/particles/make_dataset.py"


rule particles_split:
    input:
        labelled=rules.particles_dataset.output.labelled,
    output:
        f"{PAR_RESULTS}/data/split.csv",
    log:
        "logs/particles/split.log",
    conda:
        "../../envs/particles-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        val_per_class=PAR["split"]["val_per_class"][PAR_DATASET],
        test_per_class=PAR["split"]["test_per_class"][PAR_DATASET],
        seed=PAR["seed"],
    script:
        "../scripts/particles/split.py"


rule particles_preprocess:
    input:
        labelled=rules.particles_dataset.output.labelled,
        split=rules.particles_split.output[0],
    output:
        arrays=f"{PAR_RESULTS}/data/arrays.npz",
        scaler=f"{PAR_RESULTS}/data/metadata_scaler.json",
    log:
        "logs/particles/preprocess.log",
    benchmark:
        "benchmarks/particles/preprocess.tsv"
    conda:
        "../../envs/particles-data.yaml"
    threads: 1
    resources:
        mem_mb=4000 if PAR_DATASET == "demo" else 16000,
        runtime=10 if PAR_DATASET == "demo" else 240,
    params:
        size=PAR_SIZE,
    script:
        "../scripts/particles/preprocess.py"


rule particles_train:
    input:
        arrays=rules.particles_preprocess.output.arrays,
        scaler=rules.particles_preprocess.output.scaler,
    output:
        model=f"{PAR_RESULTS}/models/{{run}}.pt",
        history=f"{PAR_RESULTS}/training/{{run}}/history.csv",
    log:
        "logs/particles/train/{run}.log",
    benchmark:
        "benchmarks/particles/train/{run}.tsv"
    conda:
        "../../envs/particles-torch.yaml"
    threads: 1 if PAR_DATASET == "demo" else 8
    resources:
        mem_mb=3000 if PAR_DATASET == "demo" else 32000,
        runtime=30 if PAR_DATASET == "demo" else 1440,
        gpu=PAR["gpu"],
    params:
        training=PAR_TRAINING,
        width=PAR["model"]["width"][PAR_DATASET],
        size=PAR_SIZE,
        use_metadata=lambda wildcards: wildcards.run == "full",
        weights=PAR["model"]["weights"],
        device=PAR["device"],
        seed=PAR["seed"],
        checkpoint_dir=lambda wildcards: f"{PAR_RESULTS}/training/{wildcards.run}",
    script:
        "../scripts/particles/train.py"


rule particles_evaluate:
    input:
        model=rules.particles_train.output.model,
        arrays=rules.particles_preprocess.output.arrays,
    output:
        predictions=f"{PAR_RESULTS}/evaluation/{{run}}/test_predictions.csv",
        embeddings=f"{PAR_RESULTS}/evaluation/{{run}}/test_embeddings.npy",
        per_class=f"{PAR_RESULTS}/evaluation/{{run}}/per_class.csv",
        confusion=f"{PAR_RESULTS}/evaluation/{{run}}/confusion.csv",
    log:
        "logs/particles/evaluate/{run}.log",
    conda:
        "../../envs/particles-torch.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=PAR["gpu"],
    params:
        device=PAR["device"],
    script:
        "../scripts/particles/evaluate.py"


rule particles_summary:
    input:
        predictions=expand(rules.particles_evaluate.output.predictions, run=PAR_RUNS),
        per_class=expand(rules.particles_evaluate.output.per_class, run=PAR_RUNS),
        histories=expand(rules.particles_train.output.history, run=PAR_RUNS),
    output:
        summary=report(
            f"{PAR_RESULTS}/test_metrics.csv",
            caption="../report/particles/test_metrics.rst",
            category="particles",
            subcategory="tables",
        ),
        per_class=report(
            f"{PAR_RESULTS}/per_class_metrics.csv",
            caption="../report/particles/per_class_metrics.rst",
            category="particles",
            subcategory="tables",
        ),
        history=report(
            f"{PAR_RESULTS}/training_history.csv",
            caption="../report/particles/training_history.rst",
            category="particles",
            subcategory="tables",
        ),
    log:
        "logs/particles/summary.log",
    conda:
        "../../envs/particles-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=PAR_RUNS,
    script:
        "../scripts/particles/summarise.py"


rule particles_learning_curves:
    input:
        history=rules.particles_summary.output.history,
    output:
        pdf=f"{PAR_RESULTS}/figures/learning_curves.pdf",
        png=report(
            f"{PAR_RESULTS}/figures/learning_curves.png",
            caption="../report/particles/learning_curves.rst",
            category="particles",
            subcategory="figures",
        ),
    log:
        "logs/particles/figures/learning_curves.log",
    conda:
        "../../envs/particles-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/plot_learning_curves.py"


rule particles_confusion:
    input:
        confusion=f"{PAR_RESULTS}/evaluation/full/confusion.csv",
    output:
        table=report(
            f"{PAR_RESULTS}/confusion_matrix.csv",
            caption="../report/particles/confusion_table.rst",
            category="particles",
            subcategory="tables",
        ),
        pdf=f"{PAR_RESULTS}/figures/confusion_matrix.pdf",
        png=report(
            f"{PAR_RESULTS}/figures/confusion_matrix.png",
            caption="../report/particles/confusion_matrix.rst",
            category="particles",
            subcategory="figures",
        ),
    log:
        "logs/particles/figures/confusion_matrix.log",
    conda:
        "../../envs/particles-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/plot_confusion.py"


rule particles_umap:
    input:
        predictions=f"{PAR_RESULTS}/evaluation/full/test_predictions.csv",
        embeddings=f"{PAR_RESULTS}/evaluation/full/test_embeddings.npy",
    output:
        table=f"{PAR_RESULTS}/umap_test.csv",
        pdf=f"{PAR_RESULTS}/figures/umap.pdf",
        png=report(
            f"{PAR_RESULTS}/figures/umap.png",
            caption="../report/particles/umap.rst",
            category="particles",
            subcategory="figures",
        ),
    log:
        "logs/particles/figures/umap.log",
    conda:
        "../../envs/particles-figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        umap=PAR["umap"],
        seed=PAR["seed"],
    script:
        "../scripts/particles/plot_umap.py"


checkpoint particles_listing:
    input:
        unlabelled=rules.particles_dataset.output.unlabelled,
    output:
        f"{PAR_RESULTS}/inference/listing.csv",
    log:
        "logs/particles/inference/listing.log",
    conda:
        "../../envs/particles-data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        images=PAR["inference"]["images"],
        expected=PAR_USER_IMAGES,
    script:
        "../scripts/particles/listing.py"


rule particles_infer_shard:
    input:
        listing=rules.particles_listing.output[0],
        model=f"{PAR_RESULTS}/models/full.pt",
    output:
        predictions=f"{PAR_RESULTS}/inference/shards/{{shard}}.parquet",
        rejected=f"{PAR_RESULTS}/inference/shards/{{shard}}_rejected.csv",
    log:
        "logs/particles/inference/{shard}.log",
    benchmark:
        "benchmarks/particles/inference/{shard}.tsv"
    conda:
        "../../envs/particles-torch.yaml"
    threads: PAR["inference"]["workers"] + 1
    resources:
        mem_mb=4000,
        runtime=30 if PAR_DATASET == "demo" else 240,
        gpu=PAR["gpu"],
    params:
        per_shard=PAR_PER_SHARD,
        inference=PAR["inference"],
        device=PAR["device"],
    script:
        "../scripts/particles/infer_shard.py"


rule particles_gather:
    input:
        predictions=lambda wildcards: par_gathered(
            wildcards, rules.particles_infer_shard.output.predictions
        ),
        rejected=lambda wildcards: par_gathered(
            wildcards, rules.particles_infer_shard.output.rejected
        ),
    output:
        predictions=f"{PAR_RESULTS}/inference/predictions.parquet",
        counts=report(
            f"{PAR_RESULTS}/inference/class_counts.csv",
            caption="../report/particles/class_counts.rst",
            category="particles",
            subcategory="inference",
        ),
        rejected=report(
            f"{PAR_RESULTS}/inference/rejected_images.csv",
            caption="../report/particles/rejected_images.rst",
            category="particles",
            subcategory="inference",
        ),
    log:
        "logs/particles/inference/gather.log",
    conda:
        "../../envs/particles-torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/particles/gather.py"
