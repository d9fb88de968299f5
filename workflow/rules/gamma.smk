GAM = config["gamma"]
GAM_RESULTS = "results/gamma"
GAM_DATA = f"{GAM_RESULTS}/data/{GAM['dataset']}"
GAM_SPLITS = ["train", "test", *(["query"] if GAM["query_dir"] else [])]
GAM_PRE = GAM["preprocess"]
GAM_METHODS = {
    stage: {m: GAM["models"][m] for m in GAM[stage]["methods"]}
    for stage in ("binary", "multilabel")
}
for stage in ("binary", "multilabel"):
    if GAM["predict"][f"{stage}_method"] not in GAM[stage]["methods"]:
        raise ValueError(
            f"config.yaml: gamma.predict.{stage}_method must be one of gamma.{stage}.methods"
        )
GAM_MODELS = {
    stage: f"{GAM_RESULTS}/models/{stage}/{GAM['predict'][f'{stage}_method']}.joblib"
    for stage in ("binary", "multilabel")
}
GAM_OUTPUTS = [
    f"{GAM_RESULTS}/binary_metrics.csv",
    f"{GAM_RESULTS}/binary_confusion.csv",
    f"{GAM_RESULTS}/multilabel_metrics.csv",
    f"{GAM_RESULTS}/per_nuclide_metrics.csv",
    f"{GAM_RESULTS}/rejects.csv",
    f"{GAM_RESULTS}/test_predictions.csv",
    f"{GAM_RESULTS}/provenance.yaml",
    f"{GAM_RESULTS}/figures/spectra",
    *[
        f"{GAM_RESULTS}/figures/{name}.{ext}"
        for name in ("confusion_matrices", "roc")
        for ext in ("pdf", "png")
    ],
    *(
        [
            f"{GAM_RESULTS}/activity_comparison.csv",
            f"{GAM_RESULTS}/activity_metrics.csv",
        ]
        if GAM["dataset"] == "demo"
        else []
    ),
    *([f"{GAM_RESULTS}/predictions.csv"] if GAM["query_dir"] else []),
]


rule gamma:
    input:
        GAM_OUTPUTS,


rule gamma_simulate:
    input:
        lines=GAM["lines"],
    output:
        data=directory(f"{GAM_RESULTS}/data/demo"),
        truth=f"{GAM_RESULTS}/truth.csv",
    log:
        "logs/gamma/simulate.log",
    benchmark:
        "benchmarks/gamma/simulate.tsv"
    conda:
        "../../envs/gamma-data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        nuclides=GAM["nuclides"],
        detector=GAM["detector"],
        demo=GAM["demo"],
        seed=GAM["seed"],
    script:
        "../scripts/gamma_simulate.py"


rule gamma_paper_data:
    output:
        archive="resources/downloads/gamma/xgd_spectra",
        data=directory(f"{GAM_RESULTS}/data/paper"),
    log:
        "logs/gamma/paper_data.log",
    conda:
        "../../envs/gamma-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        url=GAM["paper"]["url"],
        sha256=GAM["paper"]["sha256"],
        mirror=config["download"]["mirror"],
        retries=config["download"]["retries"],
        timeout=config["download"]["timeout"],
    script:
        "../scripts/gamma_paper_data.py"


rule gamma_preprocess:
    input:
        data=lambda wildcards: (
            GAM["query_dir"] if wildcards.split == "query" else GAM_DATA
        ),
    output:
        binned=f"{GAM_RESULTS}/preprocessed/{{split}}.npz",
        rates=f"{GAM_RESULTS}/preprocessed/{{split}}_rates.npy",
        labels=f"{GAM_RESULTS}/preprocessed/{{split}}_labels.csv",
        rejects=f"{GAM_RESULTS}/preprocessed/{{split}}_rejects.csv",
    log:
        "logs/gamma/preprocess/{split}.log",
    benchmark:
        "benchmarks/gamma/preprocess/{split}.tsv"
    wildcard_constraints:
        split="train|test|query",
    conda:
        "../../envs/gamma-data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        nuclides=GAM["nuclides"],
        cap_kev=GAM_PRE["cap_kev"],
        calibration_policy=GAM_PRE["calibration_policy"],
        default_calibration=GAM_PRE["default_calibration"],
        default_distance_cm=GAM_PRE["default_distance_cm"],
        smoothing=GAM_PRE["smoothing"],
    script:
        "../scripts/gamma_preprocess.py"


rule gamma_background:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/train.npz",
        labels=f"{GAM_RESULTS}/preprocessed/train_labels.csv",
        lines=GAM["lines"],
    output:
        f"{GAM_RESULTS}/background.npz",
    log:
        "logs/gamma/background.log",
    conda:
        "../../envs/gamma-data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        nuclides=GAM["nuclides"],
        resolution=GAM["detector"]["resolution"],
        cap_kev=GAM_PRE["cap_kev"],
        window_fwhm=GAM["binary"]["sigma"]["window_fwhm"],
    script:
        "../scripts/gamma_background.py"


rule gamma_features:
    input:
        rates=rules.gamma_preprocess.output.rates,
        background=rules.gamma_background.output[0],
    output:
        f"{GAM_RESULTS}/features/{{stage}}/{{split}}.npy",
    log:
        "logs/gamma/features/{stage}-{split}.log",
    benchmark:
        "benchmarks/gamma/features/{stage}-{split}.tsv"
    wildcard_constraints:
        stage="binary|multilabel",
        split="train|test|query",
    conda:
        "../../envs/gamma-data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        settings=lambda wildcards: GAM["features"][wildcards.stage],
        subtract_background=GAM_PRE["subtract_background"],
    script:
        "../scripts/gamma_features.py"


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
        ),
        scores=f"{GAM_RESULTS}/binary/test_scores.csv",
    log:
        "logs/gamma/binary.log",
    benchmark:
        "benchmarks/gamma/binary.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        methods=list(GAM_METHODS["binary"]),
        settings=GAM_METHODS["binary"],
        scaling=GAM["features"]["binary"]["scaling"],
        sigma=GAM["binary"]["sigma"],
        seed=GAM["seed"],
    script:
        "../scripts/gamma_binary.py"


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
        ),
        probabilities=f"{GAM_RESULTS}/multilabel/test_probabilities.csv",
    log:
        "logs/gamma/multilabel.log",
    benchmark:
        "benchmarks/gamma/multilabel.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        nuclides=GAM["nuclides"],
        methods=list(GAM_METHODS["multilabel"]),
        settings=GAM_METHODS["multilabel"],
        scaling=GAM["features"]["multilabel"]["scaling"],
        calibration_fraction=GAM["multilabel"]["calibration_fraction"],
        threshold=GAM["multilabel"]["threshold"],
        seed=GAM["seed"],
    script:
        "../scripts/gamma_multilabel.py"


rule gamma_classify_test:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/test.npz",
        binary_features=f"{GAM_RESULTS}/features/binary/test.npy",
        multilabel_features=f"{GAM_RESULTS}/features/multilabel/test.npy",
        binary_model=GAM_MODELS["binary"],
        multilabel_model=GAM_MODELS["multilabel"],
        background=rules.gamma_background.output[0],
        lines=GAM["lines"],
    output:
        predictions=report(
            f"{GAM_RESULTS}/test_predictions.csv",
            caption="../report/gamma/test_predictions.rst",
            category="gamma",
            subcategory="tables",
        ),
        lines=f"{GAM_RESULTS}/test_lines.csv",
    log:
        "logs/gamma/classify_test.log",
    benchmark:
        "benchmarks/gamma/classify_test.tsv"
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        nuclides=GAM["nuclides"],
        threshold=GAM["multilabel"]["threshold"],
        detector=GAM["detector"],
        calibration=GAM_PRE["default_calibration"],
        activity=GAM["activity"],
    script:
        "../scripts/gamma_classify.py"


use rule gamma_classify_test as gamma_predict with:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/query.npz",
        binary_features=f"{GAM_RESULTS}/features/binary/query.npy",
        multilabel_features=f"{GAM_RESULTS}/features/multilabel/query.npy",
        binary_model=GAM_MODELS["binary"],
        multilabel_model=GAM_MODELS["multilabel"],
        background=rules.gamma_background.output[0],
        lines=GAM["lines"],
    output:
        predictions=report(
            f"{GAM_RESULTS}/predictions.csv",
            caption="../report/gamma/predictions.rst",
            category="gamma",
            subcategory="tables",
        ),
        lines=f"{GAM_RESULTS}/predictions_lines.csv",
    log:
        "logs/gamma/predict.log",
    benchmark:
        "benchmarks/gamma/predict.tsv"


rule gamma_metrics:
    input:
        scores=rules.gamma_binary.output.scores,
        probabilities=rules.gamma_multilabel.output.probabilities,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        rejects=expand(
            f"{GAM_RESULTS}/preprocessed/{{split}}_rejects.csv", split=GAM_SPLITS
        ),
    output:
        binary=report(
            f"{GAM_RESULTS}/binary_metrics.csv",
            caption="../report/gamma/binary_metrics.rst",
            category="gamma",
            subcategory="tables",
        ),
        confusion=f"{GAM_RESULTS}/binary_confusion.csv",
        multilabel=report(
            f"{GAM_RESULTS}/multilabel_metrics.csv",
            caption="../report/gamma/multilabel_metrics.rst",
            category="gamma",
            subcategory="tables",
        ),
        per_nuclide=report(
            f"{GAM_RESULTS}/per_nuclide_metrics.csv",
            caption="../report/gamma/per_nuclide_metrics.rst",
            category="gamma",
            subcategory="tables",
        ),
        rejects=report(
            f"{GAM_RESULTS}/rejects.csv",
            caption="../report/gamma/rejects.rst",
            category="gamma",
            subcategory="tables",
        ),
    log:
        "logs/gamma/metrics.log",
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        threshold=GAM["multilabel"]["threshold"],
        splits=GAM_SPLITS,
    script:
        "../scripts/gamma_metrics.py"


rule gamma_activity_metrics:
    input:
        lines=rules.gamma_classify_test.output.lines,
        truth=rules.gamma_simulate.output.truth,
    output:
        comparison=f"{GAM_RESULTS}/activity_comparison.csv",
        summary=report(
            f"{GAM_RESULTS}/activity_metrics.csv",
            caption="../report/gamma/activity_metrics.rst",
            category="gamma",
            subcategory="tables",
        ),
    log:
        "logs/gamma/activity_metrics.log",
    conda:
        "../../envs/gamma-ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        min_net_counts=GAM["activity"]["min_net_counts"],
        tolerance=GAM["activity"]["tolerance"],
        max_relative_sd=GAM["activity"]["max_relative_sd"],
    script:
        "../scripts/gamma_activity_metrics.py"


rule gamma_summary_figures:
    input:
        confusion=rules.gamma_metrics.output.confusion,
        per_nuclide=rules.gamma_metrics.output.per_nuclide,
        probabilities=rules.gamma_multilabel.output.probabilities,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
    output:
        confusion_pdf=f"{GAM_RESULTS}/figures/confusion_matrices.pdf",
        confusion_png=report(
            f"{GAM_RESULTS}/figures/confusion_matrices.png",
            caption="../report/gamma/confusion_matrices.rst",
            category="gamma",
            subcategory="figures",
        ),
        roc_pdf=f"{GAM_RESULTS}/figures/roc.pdf",
        roc_png=report(
            f"{GAM_RESULTS}/figures/roc.png",
            caption="../report/gamma/roc.rst",
            category="gamma",
            subcategory="figures",
        ),
    log:
        "logs/gamma/figures/summary.log",
    conda:
        "../../envs/gamma-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        nuclides=GAM["nuclides"],
        method=GAM["predict"]["multilabel_method"],
    script:
        "../scripts/gamma_plot_summary.py"


rule gamma_spectrum_figures:
    input:
        binned=f"{GAM_RESULTS}/preprocessed/test.npz",
        predictions=rules.gamma_classify_test.output.predictions,
        labels=f"{GAM_RESULTS}/preprocessed/test_labels.csv",
        lines=GAM["lines"],
    output:
        figures=report(
            directory(f"{GAM_RESULTS}/figures/spectra"),
            patterns=["{name}.png"],
            caption="../report/gamma/spectra.rst",
            category="gamma",
            subcategory="test spectra",
        ),
    log:
        "logs/gamma/figures/spectra.log",
    benchmark:
        "benchmarks/gamma/figures/spectra.tsv"
    conda:
        "../../envs/gamma-figures.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        nuclides=GAM["nuclides"],
        max_spectra=GAM["figures"]["max_spectra"][GAM["dataset"]],
    script:
        "../scripts/gamma_plot_spectra.py"
