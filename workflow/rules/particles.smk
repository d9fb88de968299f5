# Aliased: the rule files share one namespace. Planning imports only standard-library modules (no torch, PIL,
# skimage): the user's images are counted by fingerprintml.particles.shards.
from fingerprintml.particles.shards import (
    built_datasets as par_built_datasets,
    classified_images as par_classified_images,
    count_listed as par_count_listed,
    folder_source as par_folder_source,
    image_files as par_image_files,
    is_folder_dataset as par_is_folder_dataset,
    metadata_source as par_metadata_source,
    source_inputs as par_source_inputs,
)
from fingerprintml.shards import shard_names as par_shard_names

PAR = config["particles"]
PAR_RESULTS = "results/particles/{dataset}"
# Your labelled images (particles.train_dir) are the dataset `user`, built as well whenever given.
PAR_DATASETS = par_built_datasets(datasets("particles"), PAR["train_dir"])
# The model that classifies images (inference.model) is trained whatever the ablation setting.
PAR_RUNS = (
    ["full", "image_only"]
    if PAR["training"]["ablation"] or PAR["inference"]["model"] == "image_only"
    else ["full"]
)
# The networks' runs, the metadata-only gradient boosting and, with the image-only network, the two fused (late
# fusion of image and metadata), in the same tables.
PAR_EVALUATED = [
    *PAR_RUNS,
    "gbm_metadata",
    *(["fusion"] if "image_only" in PAR_RUNS else []),
]
# The model whose abundances and novelty scores are reported: the one that classifies the images.
PAR_CLASSIFIER = PAR["inference"]["model"]
PAR_FIGURES = ["learning_curves", "confusion_matrix", "umap", "reliability"]
# Your own folder (`inference.images`) is classified with each built dataset's model into <dataset>/user/, and
# listed here, at planning time, so that its shards are known; a dataset's own unlabelled images exist only once
# generated or extracted, so their shards (<dataset>/inference/) follow the rows of the listing checkpoint.
PAR_USER_IMAGES = (
    len(par_image_files(PAR["inference"]["images"]))
    if PAR["inference"]["images"]
    else None
)
PAR_IMAGES = "user" if PAR_USER_IMAGES is not None else "inference"
PAR_OUTPUTS = [
    f"{PAR_RESULTS}/data/unreadable.csv",
    f"{PAR_RESULTS}/test_metrics.csv",
    f"{PAR_RESULTS}/per_class_metrics.csv",
    f"{PAR_RESULTS}/confusion_matrix.csv",
    f"{PAR_RESULTS}/training_history.csv",
    f"{PAR_RESULTS}/umap_test.csv",
    f"{PAR_RESULTS}/calibration.csv",
    f"{PAR_RESULTS}/abundances_test.csv",
    f"{PAR_RESULTS}/novelty.csv",
    f"{PAR_RESULTS}/provenance.yaml",
    *[
        f"{PAR_RESULTS}/figures/{n}.{ext}"
        for n in PAR_FIGURES
        for ext in ("pdf", "png")
    ],
]
PAR_INFERENCE_OUTPUTS = [
    f"{PAR_RESULTS}/{PAR_IMAGES}/{name}"
    for name in (
        "predictions.parquet",
        "class_counts.csv",
        "rejected_images.csv",
        "abundances.csv",
        # Flagged particles per sample need the embeddings of the shards.
        *(["novelty.csv"] if PAR["inference"]["embeddings"] else []),
    )
]


# The dataset's source: the demo generator's class table, its archive or file tree (fetched by the download rule),
# or your labelled images (particles.train_dir, listed at planning) and their metadata table.
par_source = lambda wildcards: (
    {
        "train_dir": list_user_files(PAR["train_dir"], "particles.train_dir"),
        "train_metadata": list_user_files(
            PAR["train_metadata"], "particles.train_metadata"
        ),
    }
    if wildcards.dataset == USER
    else {
        name: downloaded(value) if name in ("archive", "tree") else value
        for name, value in par_source_inputs(
            dataset_block("particles", wildcards), wildcards.dataset, REMOTE_FILES
        ).items()
    }
)
# Where a class-folder dataset's images and table are (None for the other sources).
par_folder = lambda wildcards: (
    par_folder_source(
        dataset_block("particles", wildcards),
        wildcards.dataset,
        (
            downloaded(dataset_block("particles", wildcards)["tree"])
            if wildcards.dataset != USER
            else None
        ),
        PAR["train_dir"],
        PAR["train_metadata"],
    )
    if par_is_folder_dataset(dataset_block("particles", wildcards), wildcards.dataset)
    else None
)
# The shard outputs of a listing: your folder's (counted at planning) or the dataset's (the listing checkpoint).
par_shards = lambda wildcards, output: expand(
    output,
    dataset=wildcards.dataset,
    images=wildcards.images,
    shard=par_shard_names(
        (
            PAR_USER_IMAGES
            if wildcards.images == "user"
            else par_count_listed(
                checkpoints.particles_listing.get(**wildcards).output[0]
            )
        ),
        per_dataset("particles", "inference.per_shard")(wildcards),
    ),
)


wildcard_constraints:
    run="full|image_only",
    shard=r"\d+",
    images="inference|user",


rule particles:
    input:
        [
            path
            for dataset in PAR_DATASETS
            for path in expand(
                PAR_OUTPUTS
                + (
                    PAR_INFERENCE_OUTPUTS
                    if par_classified_images(
                        dataset_settings(PAR, "particles", dataset),
                        dataset,
                        images=PAR["inference"]["images"],
                        run=PAR["inference"]["model"],
                    )
                    else []
                ),
                dataset=dataset,
            )
        ],


rule particles_dataset:
    input:
        unpack(par_source),
    output:
        labelled=f"{PAR_RESULTS}/data/labelled.csv",
        unlabelled=f"{PAR_RESULTS}/data/unlabelled.csv",
        unreadable=f"{PAR_RESULTS}/data/unreadable.csv",
    log:
        "logs/particles/{dataset}/dataset.log",
    benchmark:
        "benchmarks/particles/{dataset}/dataset.tsv"
    conda:
        "../../envs/particles-data.yaml"
    threads: 2
    resources:
        runtime=per_dataset("particles", "resources.dataset.runtime"),
    params:
        root=lambda wildcards: f"results/particles/{wildcards.dataset}/data/raw",
        seed=PAR["seed"],
        generator=lambda wildcards: dataset_block("particles", wildcards).get(
            "generator"
        ),
        folder=par_folder,
        # How class folders are read (metadata source, table key, session rule, pixel size).
        reading=lambda wildcards: {
            key: dataset_block("particles", wildcards).get(key)
            for key in ("metadata", "table_key", "session", "microns_per_pixel")
        },
    script:
        "../scripts/particles/make_dataset.py"


rule particles_split:
    input:
        labelled=rules.particles_dataset.output.labelled,
    output:
        f"{PAR_RESULTS}/data/split.csv",
    log:
        "logs/particles/{dataset}/split.log",
    conda:
        "../../envs/particles-data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        split=per_dataset("particles", "split"),
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
        "logs/particles/{dataset}/preprocess.log",
    benchmark:
        "benchmarks/particles/{dataset}/preprocess.tsv"
    conda:
        "../../envs/particles-data.yaml"
    resources:
        mem_mb=per_dataset("particles", "resources.preprocess.mem_mb"),
        runtime=per_dataset("particles", "resources.preprocess.runtime"),
    params:
        size=per_dataset("particles", "model.size"),
        metadata=lambda wildcards: par_metadata_source(
            dataset_block("particles", wildcards), wildcards.dataset
        ),
        microns_per_pixel=lambda wildcards: dataset_block("particles", wildcards).get(
            "microns_per_pixel"
        ),
        table=lambda wildcards: (par_folder(wildcards) or {}).get("table")
        or dataset_block("particles", wildcards).get("archive"),
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
        "logs/particles/{dataset}/train/{run}.log",
    benchmark:
        "benchmarks/particles/{dataset}/train/{run}.tsv"
    conda:
        "../../envs/particles-torch.yaml"
    threads: per_dataset("particles", "resources.train.threads")
    resources:
        mem_mb=per_dataset("particles", "resources.train.mem_mb"),
        runtime=per_dataset("particles", "resources.train.runtime"),
        gpu=PAR["gpu"],
    params:
        # The study's training settings with the dataset's budget (epochs, learning rate).
        training=lambda wildcards: {
            **{k: v for k, v in PAR["training"].items() if k != "ablation"},
            **dataset_block("particles", wildcards)["training"],
        },
        width=per_dataset("particles", "model.width"),
        size=per_dataset("particles", "model.size"),
        use_metadata=lambda wildcards: wildcards.run == "full",
        weights=PAR["model"]["weights"],
        device=PAR["device"],
        seed=PAR["seed"],
        checkpoint_dir=lambda wildcards: f"results/particles/{wildcards.dataset}/training/{wildcards.run}",
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
        "logs/particles/{dataset}/evaluate/{run}.log",
    conda:
        "../../envs/particles-torch.yaml"
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
        predictions=expand(
            rules.particles_evaluate.output.predictions,
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
        per_class=expand(
            rules.particles_evaluate.output.per_class,
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
        histories=expand(
            rules.particles_train.output.history, run=PAR_RUNS, allow_missing=True
        ),
    output:
        summary=study_report(
            f"{PAR_RESULTS}/test_metrics.csv", "particles", "test_metrics", "tables"
        ),
        per_class=study_report(
            f"{PAR_RESULTS}/per_class_metrics.csv",
            "particles",
            "per_class_metrics",
            "tables",
        ),
        history=study_report(
            f"{PAR_RESULTS}/training_history.csv",
            "particles",
            "training_history",
            "tables",
        ),
    log:
        "logs/particles/{dataset}/summary.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=PAR_EVALUATED,
    script:
        "../scripts/particles/summarise.py"


# The metadata-only baseline: the same split and standardised metadata as the network, its class names.
rule particles_baseline:
    input:
        arrays=rules.particles_preprocess.output.arrays,
        model=f"{PAR_RESULTS}/models/full.pt",
    output:
        predictions=f"{PAR_RESULTS}/evaluation/gbm_metadata/test_predictions.csv",
        per_class=f"{PAR_RESULTS}/evaluation/gbm_metadata/per_class.csv",
        confusion=f"{PAR_RESULTS}/evaluation/gbm_metadata/confusion.csv",
        validation=f"{PAR_RESULTS}/evaluation/gbm_metadata/val_predictions.csv",
    log:
        "logs/particles/{dataset}/evaluate/gbm_metadata.log",
    benchmark:
        "benchmarks/particles/{dataset}/baseline.tsv"
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=per_dataset("particles", "resources.preprocess.mem_mb"),
        runtime=30,
    params:
        seed=PAR["seed"],
    script:
        "../scripts/particles/baseline.py"


# Image and metadata fused late: the image-only network and the metadata-only boosting pooled, weights fitted on
# the validation part.
rule particles_fusion:
    input:
        image_val=f"{PAR_RESULTS}/evaluation/image_only/val_predictions.csv",
        image_test=f"{PAR_RESULTS}/evaluation/image_only/test_predictions.csv",
        metadata_val=rules.particles_baseline.output.validation,
        metadata_test=rules.particles_baseline.output.predictions,
    output:
        predictions=f"{PAR_RESULTS}/evaluation/fusion/test_predictions.csv",
        per_class=f"{PAR_RESULTS}/evaluation/fusion/per_class.csv",
        confusion=f"{PAR_RESULTS}/evaluation/fusion/confusion.csv",
        validation=f"{PAR_RESULTS}/evaluation/fusion/val_predictions.csv",
        weights=f"{PAR_RESULTS}/evaluation/fusion/weights.csv",
    log:
        "logs/particles/{dataset}/evaluate/fusion.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/fusion.py"


# Validation predictions of a network run: what its calibration is fitted on.
rule particles_validate:
    input:
        model=rules.particles_train.output.model,
        arrays=rules.particles_preprocess.output.arrays,
    output:
        predictions=f"{PAR_RESULTS}/evaluation/{{run}}/val_predictions.csv",
    log:
        "logs/particles/{dataset}/validate/{run}.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=PAR["gpu"],
    params:
        device=PAR["device"],
    script:
        "../scripts/particles/validate.py"


rule particles_calibration:
    input:
        validation=expand(
            f"{PAR_RESULTS}/evaluation/{{run}}/val_predictions.csv",
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
        test=expand(
            rules.particles_evaluate.output.predictions,
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
    output:
        calibration=study_report(
            f"{PAR_RESULTS}/calibration.csv", "particles", "calibration", "tables"
        ),
        reliability=f"{PAR_RESULTS}/reliability.csv",
    log:
        "logs/particles/{dataset}/calibration.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=PAR_EVALUATED,
        trust=PAR["trust"],
    script:
        "../scripts/particles/calibration.py"


rule particles_figure_reliability:
    input:
        reliability=rules.particles_calibration.output.reliability,
        calibration=rules.particles_calibration.output.calibration,
    output:
        pdf=f"{PAR_RESULTS}/figures/reliability.pdf",
        png=study_report(
            f"{PAR_RESULTS}/figures/reliability.png",
            "particles",
            "reliability",
            "figures",
        ),
    log:
        "logs/particles/{dataset}/figures/reliability.log",
    conda:
        "../../envs/particles-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/figure_reliability.py"


# Class fractions of each held-out acquisition session of the test set by every run, with the truth beside them.
rule particles_abundances_test:
    input:
        predictions=expand(
            f"{PAR_RESULTS}/evaluation/{{run}}/test_predictions.csv",
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
        validation=expand(
            f"{PAR_RESULTS}/evaluation/{{run}}/val_predictions.csv",
            run=PAR_EVALUATED,
            allow_missing=True,
        ),
        split=rules.particles_split.output[0],
    output:
        study_report(
            f"{PAR_RESULTS}/abundances_test.csv",
            "particles",
            "abundances_test",
            "tables",
        ),
    log:
        "logs/particles/{dataset}/abundances_test.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        trust=PAR["trust"],
        seed=PAR["seed"],
        runs=PAR_EVALUATED,
    script:
        "../scripts/particles/abundances.py"


rule particles_novelty:
    input:
        model=f"{PAR_RESULTS}/models/{PAR_CLASSIFIER}.pt",
        arrays=rules.particles_preprocess.output.arrays,
        predictions=f"{PAR_RESULTS}/evaluation/{PAR_CLASSIFIER}/test_predictions.csv",
        embeddings=f"{PAR_RESULTS}/evaluation/{PAR_CLASSIFIER}/test_embeddings.npy",
    output:
        detector=f"{PAR_RESULTS}/novelty/detector.npz",
        test=f"{PAR_RESULTS}/novelty/test_scores.csv",
        summary=study_report(
            f"{PAR_RESULTS}/novelty.csv", "particles", "novelty", "tables"
        ),
    log:
        "logs/particles/{dataset}/novelty.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=per_dataset("particles", "resources.preprocess.mem_mb"),
        runtime=60,
        gpu=PAR["gpu"],
    params:
        trust=PAR["trust"],
        device=PAR["device"],
    script:
        "../scripts/particles/novelty.py"


rule particles_figure_learning_curves:
    input:
        history=rules.particles_summary.output.history,
    output:
        pdf=f"{PAR_RESULTS}/figures/learning_curves.pdf",
        png=study_report(
            f"{PAR_RESULTS}/figures/learning_curves.png",
            "particles",
            "learning_curves",
            "figures",
        ),
    log:
        "logs/particles/{dataset}/figures/learning_curves.log",
    conda:
        "../../envs/particles-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/figure_learning_curves.py"


rule particles_figure_confusion_matrix:
    input:
        confusion=f"{PAR_RESULTS}/evaluation/full/confusion.csv",
    output:
        table=study_report(
            f"{PAR_RESULTS}/confusion_matrix.csv",
            "particles",
            "confusion_table",
            "tables",
        ),
        pdf=f"{PAR_RESULTS}/figures/confusion_matrix.pdf",
        png=study_report(
            f"{PAR_RESULTS}/figures/confusion_matrix.png",
            "particles",
            "confusion_matrix",
            "figures",
        ),
    log:
        "logs/particles/{dataset}/figures/confusion_matrix.log",
    conda:
        "../../envs/particles-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/particles/figure_confusion_matrix.py"


rule particles_figure_umap:
    input:
        predictions=f"{PAR_RESULTS}/evaluation/full/test_predictions.csv",
        embeddings=f"{PAR_RESULTS}/evaluation/full/test_embeddings.npy",
    output:
        table=f"{PAR_RESULTS}/umap_test.csv",
        pdf=f"{PAR_RESULTS}/figures/umap.pdf",
        png=study_report(
            f"{PAR_RESULTS}/figures/umap.png", "particles", "umap", "figures"
        ),
    log:
        "logs/particles/{dataset}/figures/umap.log",
    conda:
        "../../envs/particles-figures.yaml"
    resources:
        runtime=10,
    params:
        umap=PAR["umap"],
        seed=PAR["seed"],
    script:
        "../scripts/particles/figure_umap.py"


checkpoint particles_listing:
    input:
        unpack(
            lambda wildcards: (
                {"user": user_files("particles")}
                if wildcards.images == "user"
                else {"unlabelled": rules.particles_dataset.output.unlabelled}
            )
        ),
    output:
        f"{PAR_RESULTS}/{{images}}/listing.csv",
    log:
        "logs/particles/{dataset}/{images}/listing.log",
    conda:
        "../../envs/particles-data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        folder=lambda wildcards: (
            PAR["inference"]["images"] if wildcards.images == "user" else None
        ),
        expected=lambda wildcards: (
            PAR_USER_IMAGES if wildcards.images == "user" else None
        ),
    script:
        "../scripts/particles/listing.py"


rule particles_infer_shard:
    input:
        listing=rules.particles_listing.output[0],
        model=f"{PAR_RESULTS}/models/{PAR['inference']['model']}.pt",
    output:
        predictions=f"{PAR_RESULTS}/{{images}}/shards/{{shard}}.parquet",
        rejected=f"{PAR_RESULTS}/{{images}}/shards/{{shard}}_rejected.csv",
    log:
        "logs/particles/{dataset}/{images}/{shard}.log",
    benchmark:
        "benchmarks/particles/{dataset}/{images}/{shard}.tsv"
    conda:
        "../../envs/particles-torch.yaml"
    threads: PAR["inference"]["workers"] + 1
    resources:
        mem_mb=4000,
        runtime=per_dataset("particles", "resources.infer_shard.runtime"),
        gpu=PAR["gpu"],
    params:
        per_shard=per_dataset("particles", "inference.per_shard"),
        # Without `images`: a shard's predictions do not depend on which folder is listed.
        inference={k: v for k, v in PAR["inference"].items() if k != "images"},
        device=PAR["device"],
    script:
        "../scripts/particles/infer_shard.py"


# With embeddings kept in the shards, the predictions gain the novelty score of each particle.
rule particles_gather:
    input:
        **(
            {"detector": rules.particles_novelty.output.detector}
            if PAR["inference"]["embeddings"]
            else {}
        ),
        predictions=lambda wildcards: par_shards(
            wildcards, rules.particles_infer_shard.output.predictions
        ),
        rejected=lambda wildcards: par_shards(
            wildcards, rules.particles_infer_shard.output.rejected
        ),
    output:
        predictions=f"{PAR_RESULTS}/{{images}}/predictions.parquet",
        counts=study_report(
            f"{PAR_RESULTS}/{{images}}/class_counts.csv",
            "particles",
            "class_counts",
            "inference",
        ),
        rejected=study_report(
            f"{PAR_RESULTS}/{{images}}/rejected_images.csv",
            "particles",
            "rejected_images",
            "inference",
        ),
    log:
        "logs/particles/{dataset}/{images}/gather.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/particles/gather.py"


# Class fractions of each sample classified, corrected for the shift of class frequencies, with intervals.
rule particles_abundances:
    input:
        predictions=rules.particles_gather.output.predictions,
        validation=f"{PAR_RESULTS}/evaluation/{PAR_CLASSIFIER}/val_predictions.csv",
    output:
        study_report(
            f"{PAR_RESULTS}/{{images}}/abundances.csv",
            "particles",
            "abundances",
            "inference",
        ),
    log:
        "logs/particles/{dataset}/{images}/abundances.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        trust=PAR["trust"],
        seed=PAR["seed"],
    script:
        "../scripts/particles/abundances.py"


rule particles_novelty_samples:
    input:
        predictions=rules.particles_gather.output.predictions,
    output:
        study_report(
            f"{PAR_RESULTS}/{{images}}/novelty.csv",
            "particles",
            "novelty_samples",
            "inference",
        ),
    log:
        "logs/particles/{dataset}/{images}/novelty.log",
    conda:
        "../../envs/particles-torch.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../scripts/particles/novelty_samples.py"
