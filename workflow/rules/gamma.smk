from fingerprintml.gamma import plan as gamma_plan

GAM = config["gamma"]
GAM_RESULTS = "results/gamma/{dataset}"
GAM_USER = f"{GAM_RESULTS}/user"
GAM_PRE = GAM["preprocess"]
gamma_plan.check_predict_methods(GAM)
gamma_plan.check_feature_slices(GAM)
GAM_MODELS = {
    stage: f"{GAM_RESULTS}/models/{stage}/{GAM['predict'][f'{stage}_method']}.joblib"
    for stage in gamma_plan.STAGES
}


rule gamma:
    input:
        [gamma_plan.target_paths(GAM, dataset) for dataset in datasets("gamma")],


rule gamma_simulate:
    input:
        lines=GAM["lines"],
        cascades=GAM["cascades"],
    output:
        data=directory(f"{GAM_RESULTS}/simulated"),
        truth=f"{GAM_RESULTS}/truth.csv",
    log:
        "logs/gamma/{dataset}/simulate.log",
    benchmark:
        "benchmarks/gamma/{dataset}/simulate.tsv"
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        runtime=20,
    params:
        nuclides=GAM["nuclides"],
        detector=gamma_plan.detector_block(GAM),
        simulator=per_dataset("gamma", "simulator"),
        seed=GAM["seed"],
    script:
        "../scripts/gamma/simulate.py"


rule gamma_extract:
    input:
        archive=lambda wildcards: downloaded(
            gamma_plan.archive_key(GAM, wildcards.dataset, REMOTE_FILES)
        ),
    output:
        data=directory(f"{GAM_RESULTS}/spectra"),
    log:
        "logs/gamma/{dataset}/extract.log",
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/gamma/extract.py"


rule gamma_preprocess:
    input:
        data=lambda wildcards: gamma_plan.spectra_folder(GAM, wildcards.dataset),
    output:
        binned=f"{GAM_RESULTS}/preprocessed/{{split}}.npz",
        rates=f"{GAM_RESULTS}/preprocessed/{{split}}_rates.npy",
        labels=f"{GAM_RESULTS}/preprocessed/{{split}}_labels.csv",
        rejects=f"{GAM_RESULTS}/preprocessed/{{split}}_rejects.csv",
    log:
        "logs/gamma/{dataset}/preprocess/{split}.log",
    benchmark:
        "benchmarks/gamma/{dataset}/preprocess/{split}.tsv"
    wildcard_constraints:
        split="train|test|validation",
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        # The user's spectra (gamma_preprocess_user) have no split wildcard: the split "query" is the folder itself.
        split=lambda wildcards: wildcards.get("split", "query"),
        nuclides=GAM["nuclides"],
        preprocess={k: v for k, v in GAM_PRE.items() if k != "subtract_background"},
    script:
        "../scripts/gamma/preprocess.py"


use rule gamma_preprocess as gamma_preprocess_user with:
    input:
        data=lambda wildcards: gamma_plan.query_dir(GAM),
        user=lambda wildcards: user_files("gamma"),
    output:
        binned=f"{GAM_USER}/preprocessed.npz",
        rates=f"{GAM_USER}/preprocessed_rates.npy",
        labels=f"{GAM_USER}/preprocessed_labels.csv",
        rejects=f"{GAM_USER}/rejects.csv",
    log:
        "logs/gamma/{dataset}/user/preprocess.log",
    benchmark:
        "benchmarks/gamma/{dataset}/user/preprocess.tsv"


rule gamma_background:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/train.npz",
        labels=f"{GAM_RESULTS}/preprocessed/train_labels.csv",
        lines=GAM["lines"],
    output:
        f"{GAM_RESULTS}/background.npz",
    log:
        "logs/gamma/{dataset}/background.log",
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        runtime=10,
    params:
        nuclides=GAM["nuclides"],
        resolution=gamma_plan.detector_block(GAM)["resolution"],
        window_fwhm=GAM["binary"]["sigma"]["window_fwhm"],
    script:
        "../scripts/gamma/background.py"


rule gamma_features:
    input:
        rates=f"{GAM_RESULTS}/preprocessed/{{split}}_rates.npy",
        background=rules.gamma_background.output[0],
    output:
        f"{GAM_RESULTS}/features/{{stage}}/{{split}}.npy",
    log:
        "logs/gamma/{dataset}/features/{stage}-{split}.log",
    benchmark:
        "benchmarks/gamma/{dataset}/features/{stage}-{split}.tsv"
    wildcard_constraints:
        stage="binary|multilabel",
        split="train|test|validation",
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        runtime=10,
    params:
        settings=lambda wildcards: GAM["features"][wildcards.stage],
        subtract_background=GAM_PRE["subtract_background"],
    script:
        "../scripts/gamma/features.py"


use rule gamma_features as gamma_features_user with:
    input:
        rates=rules.gamma_preprocess_user.output.rates,
        background=rules.gamma_background.output[0],
    output:
        f"{GAM_USER}/features/{{stage}}.npy",
    log:
        "logs/gamma/{dataset}/user/features/{stage}.log",
    benchmark:
        "benchmarks/gamma/{dataset}/user/features/{stage}.tsv"


rule gamma_binary:
    input:
        train_features=f"{GAM_RESULTS}/features/binary/train.npy",
        test_features=f"{GAM_RESULTS}/features/binary/test.npy",
        train_labels=f"{GAM_RESULTS}/preprocessed/train_labels.csv",
        test_labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        test_binned=f"{GAM_RESULTS}/preprocessed/test.npz",
        background=rules.gamma_background.output[0],
    output:
        models=expand(
            f"{GAM_RESULTS}/models/binary/{{method}}.joblib",
            method=GAM["binary"]["methods"],
            allow_missing=True,
        ),
        scores=f"{GAM_RESULTS}/binary/test_scores.csv",
    log:
        "logs/gamma/{dataset}/binary.log",
    benchmark:
        "benchmarks/gamma/{dataset}/binary.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=gamma_plan.training_settings(GAM, "binary"),
    script:
        "../scripts/gamma/binary.py"


rule gamma_multilabel:
    input:
        train_features=f"{GAM_RESULTS}/features/multilabel/train.npy",
        test_features=f"{GAM_RESULTS}/features/multilabel/test.npy",
        train_labels=f"{GAM_RESULTS}/preprocessed/train_labels.csv",
        test_labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
    output:
        models=expand(
            f"{GAM_RESULTS}/models/multilabel/{{method}}.joblib",
            method=GAM["multilabel"]["methods"],
            allow_missing=True,
        ),
        probabilities=f"{GAM_RESULTS}/multilabel/test_probabilities.csv",
    log:
        "logs/gamma/{dataset}/multilabel.log",
    benchmark:
        "benchmarks/gamma/{dataset}/multilabel.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        nuclides=GAM["nuclides"],
        settings=gamma_plan.training_settings(GAM, "multilabel"),
    script:
        "../scripts/gamma/multilabel.py"


rule gamma_classify:
    input:
        # Simulated datasets with validation spectra: the peak identification and its combination with the models.
        unpack(lambda wildcards: gamma_plan.combination_inputs(GAM, wildcards.dataset)),
        binned=f"{GAM_RESULTS}/preprocessed/test.npz",
        binary_features=f"{GAM_RESULTS}/features/binary/test.npy",
        multilabel_features=f"{GAM_RESULTS}/features/multilabel/test.npy",
        binary_model=GAM_MODELS["binary"],
        multilabel_model=GAM_MODELS["multilabel"],
        background=rules.gamma_background.output[0],
        lines=GAM["lines"],
    output:
        predictions=study_report(
            f"{GAM_RESULTS}/test_predictions.csv",
            "gamma",
            "test_predictions",
            "tables",
        ),
        lines=f"{GAM_RESULTS}/test_lines.csv",
    log:
        "logs/gamma/{dataset}/classify.log",
    benchmark:
        "benchmarks/gamma/{dataset}/classify.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        runtime=20,
    params:
        settings=lambda wildcards: gamma_plan.classify_settings(
            GAM, dataset=wildcards.dataset
        ),
    script:
        "../scripts/gamma/classify.py"


rule gamma_identify_user:
    input:
        data=lambda wildcards: gamma_plan.query_dir(GAM),
        user=lambda wildcards: user_files("gamma"),
        library=GAM["identify"]["library"],
        # gamma.efficiency_calibration.spectrum, listed at planning (none: the preset's efficiency).
        calibration=lambda wildcards: list_user_files(
            (GAM.get("efficiency_calibration") or {}).get("spectrum"),
            "gamma.efficiency_calibration.spectrum",
        ),
    output:
        identification=f"{GAM_USER}/identification.csv",
        peaks=f"{GAM_USER}/peaks.csv",
        limits=f"{GAM_USER}/nuclide_limits.csv",
        activities=study_report(
            f"{GAM_USER}/activities.csv", "gamma", "activities", "tables"
        ),
        efficiency=f"{GAM_USER}/efficiency_calibration.csv",
    log:
        "logs/gamma/{dataset}/user/identify.log",
    benchmark:
        "benchmarks/gamma/{dataset}/user/identify.tsv"
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        runtime=20,
    params:
        preprocess=GAM_PRE,
        settings={
            k: v for k, v in GAM["identify"].items() if k not in ("library", "peaks")
        },
        peaks=GAM["identify"]["peaks"],
        # gamma.query_detector: the detector preset of the query spectra (auto: guessed from each spectrum).
        detector=GAM.get("query_detector", "auto"),
        efficiency_calibration=GAM.get("efficiency_calibration"),
        folder="",
        nuclides=None,
    script:
        "../scripts/gamma/identify.py"


# The simulated test and validation spectra identified by their peaks, with the simulation's detector and the
# library entries of the models' nuclides (the question both methods answer).
use rule gamma_identify_user as gamma_identify_split with:
    input:
        data=rules.gamma_simulate.output.data,
        library=GAM["identify"]["library"],
    output:
        identification=f"{GAM_RESULTS}/identification/{{split}}.csv",
        peaks=f"{GAM_RESULTS}/identification/{{split}}_peaks.csv",
        limits=f"{GAM_RESULTS}/identification/{{split}}_limits.csv",
        activities=f"{GAM_RESULTS}/identification/{{split}}_activities.csv",
        efficiency=f"{GAM_RESULTS}/identification/{{split}}_efficiency.csv",
    log:
        "logs/gamma/{dataset}/identify/{split}.log",
    benchmark:
        "benchmarks/gamma/{dataset}/identify/{split}.tsv"
    wildcard_constraints:
        split="test|validation",
    params:
        preprocess=GAM_PRE,
        settings={
            k: v for k, v in GAM["identify"].items() if k not in ("library", "peaks")
        },
        peaks=GAM["identify"]["peaks"],
        detector=gamma_plan.detector_block(GAM),
        efficiency_calibration=None,
        folder=lambda wildcards: wildcards.split,
        nuclides=GAM["nuclides"],


rule gamma_combine:
    input:
        binary_features=f"{GAM_RESULTS}/features/binary/validation.npy",
        multilabel_features=f"{GAM_RESULTS}/features/multilabel/validation.npy",
        binary_model=GAM_MODELS["binary"],
        multilabel_model=GAM_MODELS["multilabel"],
        labels=f"{GAM_RESULTS}/preprocessed/validation_labels.csv",
        limits=f"{GAM_RESULTS}/identification/validation_limits.csv",
    output:
        f"{GAM_RESULTS}/models/combination.joblib",
    log:
        "logs/gamma/{dataset}/combine.log",
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        settings=GAM["combine"],
    script:
        "../scripts/gamma/combine.py"


rule gamma_identify_measured:
    input:
        files=lambda wildcards: [
            downloaded(key)
            for key in gamma_plan.measured_keys(GAM, wildcards.dataset, REMOTE_FILES)
        ],
        library=GAM["identify"]["library"],
    output:
        identification=f"{GAM_RESULTS}/identification.csv",
        peaks=f"{GAM_RESULTS}/peaks.csv",
        limits=f"{GAM_RESULTS}/nuclide_limits.csv",
        activities=f"{GAM_RESULTS}/activities.csv",
        benchmark=study_report(
            f"{GAM_RESULTS}/benchmark.csv", "gamma", "benchmark", "tables"
        ),
        summary=study_report(
            f"{GAM_RESULTS}/benchmark_summary.csv",
            "gamma",
            "benchmark_summary",
            "tables",
        ),
    log:
        "logs/gamma/{dataset}/identify_measured.log",
    benchmark:
        "benchmarks/gamma/{dataset}/identify_measured.tsv"
    conda:
        "../../envs/gamma-data.yaml"
    resources:
        runtime=30,
    params:
        preprocess=GAM_PRE,
        settings={
            k: v for k, v in GAM["identify"].items() if k not in ("library", "peaks")
        },
        peaks=GAM["identify"]["peaks"],
        measured=per_dataset("gamma", "measured"),
    script:
        "../scripts/gamma/identify_measured.py"


use rule gamma_classify as gamma_predict with:
    input:
        binned=rules.gamma_preprocess_user.output.binned,
        identification=rules.gamma_identify_user.output.identification,
        binary_features=f"{GAM_USER}/features/binary.npy",
        multilabel_features=f"{GAM_USER}/features/multilabel.npy",
        binary_model=GAM_MODELS["binary"],
        multilabel_model=GAM_MODELS["multilabel"],
        background=rules.gamma_background.output[0],
        lines=GAM["lines"],
    output:
        predictions=study_report(
            f"{GAM_USER}/predictions.csv", "gamma", "predictions", "tables"
        ),
        lines=f"{GAM_USER}/predictions_lines.csv",
    log:
        "logs/gamma/{dataset}/user/predict.log",
    benchmark:
        "benchmarks/gamma/{dataset}/user/predict.tsv"
    params:
        settings=gamma_plan.classify_settings(GAM, query=True),


rule gamma_metrics:
    input:
        scores=rules.gamma_binary.output.scores,
        probabilities=rules.gamma_multilabel.output.probabilities,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        train_rejects=f"{GAM_RESULTS}/preprocessed/train_rejects.csv",
        test_rejects=f"{GAM_RESULTS}/preprocessed/test_rejects.csv",
    output:
        binary=study_report(
            f"{GAM_RESULTS}/binary_metrics.csv", "gamma", "binary_metrics", "tables"
        ),
        confusion=f"{GAM_RESULTS}/binary_confusion.csv",
        multilabel=study_report(
            f"{GAM_RESULTS}/multilabel_metrics.csv",
            "gamma",
            "multilabel_metrics",
            "tables",
        ),
        per_nuclide=study_report(
            f"{GAM_RESULTS}/per_nuclide_metrics.csv",
            "gamma",
            "per_nuclide_metrics",
            "tables",
        ),
        rejects=study_report(f"{GAM_RESULTS}/rejects.csv", "gamma", "rejects", "tables"),
    log:
        "logs/gamma/{dataset}/metrics.log",
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        threshold=GAM["multilabel"]["threshold"],
    script:
        "../scripts/gamma/metrics.py"


rule gamma_activity_metrics:
    input:
        lines=rules.gamma_classify.output.lines,
        truth=rules.gamma_simulate.output.truth,
    output:
        comparison=f"{GAM_RESULTS}/activity_comparison.csv",
        summary=study_report(
            f"{GAM_RESULTS}/activity_metrics.csv",
            "gamma",
            "activity_metrics",
            "tables",
        ),
    log:
        "logs/gamma/{dataset}/activity_metrics.log",
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        min_net_counts=GAM["activity"]["min_net_counts"],
        tolerance=GAM["activity"]["tolerance"],
        max_relative_sd=GAM["activity"]["max_relative_sd"],
    script:
        "../scripts/gamma/activity_metrics.py"


rule gamma_detection_curve:
    input:
        predictions=rules.gamma_classify.output.predictions,
        truth=rules.gamma_simulate.output.truth,
    output:
        study_report(
            f"{GAM_RESULTS}/detection_curve.csv", "gamma", "detection_curve", "tables"
        ),
    log:
        "logs/gamma/{dataset}/detection_curve.log",
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/gamma/detection_curve.py"


rule gamma_method_metrics:
    input:
        predictions=rules.gamma_classify.output.predictions,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        truth=rules.gamma_simulate.output.truth,
    output:
        overall=study_report(
            f"{GAM_RESULTS}/method_metrics.csv", "gamma", "method_metrics", "tables"
        ),
        per_nuclide=study_report(
            f"{GAM_RESULTS}/method_per_nuclide_metrics.csv",
            "gamma",
            "method_per_nuclide_metrics",
            "tables",
        ),
    log:
        "logs/gamma/{dataset}/method_metrics.log",
    conda:
        "../../envs/gamma-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        method=GAM["predict"]["method"],
    script:
        "../scripts/gamma/method_metrics.py"


rule gamma_figure_detection:
    input:
        curve=rules.gamma_detection_curve.output[0],
    output:
        pdf=f"{GAM_RESULTS}/figures/detection.pdf",
        png=study_report(
            f"{GAM_RESULTS}/figures/detection.png", "gamma", "detection", "figures"
        ),
    log:
        "logs/gamma/{dataset}/figures/detection.log",
    conda:
        "../../envs/gamma-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/gamma/figure_detection.py"


rule gamma_figure_confusion_matrices:
    input:
        confusion=rules.gamma_metrics.output.confusion,
        per_nuclide=rules.gamma_metrics.output.per_nuclide,
    output:
        pdf=f"{GAM_RESULTS}/figures/confusion_matrices.pdf",
        png=study_report(
            f"{GAM_RESULTS}/figures/confusion_matrices.png",
            "gamma",
            "confusion_matrices",
            "figures",
        ),
    log:
        "logs/gamma/{dataset}/figures/confusion_matrices.log",
    conda:
        "../../envs/gamma-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        method=GAM["predict"]["multilabel_method"],
    script:
        "../scripts/gamma/figure_confusion_matrices.py"


rule gamma_figure_roc:
    input:
        probabilities=rules.gamma_multilabel.output.probabilities,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
    output:
        pdf=f"{GAM_RESULTS}/figures/roc.pdf",
        png=study_report(f"{GAM_RESULTS}/figures/roc.png", "gamma", "roc", "figures"),
    log:
        "logs/gamma/{dataset}/figures/roc.log",
    conda:
        "../../envs/gamma-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
    script:
        "../scripts/gamma/figure_roc.py"


rule gamma_figure_spectra:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/test.npz",
        predictions=rules.gamma_classify.output.predictions,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        lines=GAM["lines"],
    output:
        figures=report(
            directory(f"{GAM_RESULTS}/figures/spectra"),
            patterns=["{name}.png"],
            caption="../report/gamma/spectra.rst",
            category="gamma",
            subcategory="{dataset} test spectra",
        ),
    log:
        "logs/gamma/{dataset}/figures/spectra.log",
    benchmark:
        "benchmarks/gamma/{dataset}/figures/spectra.tsv"
    conda:
        "../../envs/gamma-figures.yaml"
    resources:
        runtime=20,
    params:
        nuclides=GAM["nuclides"],
        max_spectra=per_dataset("gamma", "figures.max_spectra"),
    script:
        "../scripts/gamma/figure_spectra.py"
