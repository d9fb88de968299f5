ISO = config["isotopes"]
ISO_RESULTS = "results/isotopes/{dataset}"
ISO_LOGS = "logs/isotopes/{dataset}"
ISO_BENCHMARKS = "benchmarks/isotopes/{dataset}"
# The selective model chooses its learner per node among the configured learners: one run, "per_node".
ISO_RUN_PAIRS = [
    (model, learner)
    for model in ISO["models"]
    for learner in (["per_node"] if model == "selective" else ISO["learners"])
]
ISO_RUN_WILDCARDS = {
    "model": [model for model, _ in ISO_RUN_PAIRS],
    "learner": [learner for _, learner in ISO_RUN_PAIRS],
}
ISO_RUNS = expand("{model}-{learner}", zip, **ISO_RUN_WILDCARDS)
ISO_NO_SPACE = [l for l in ISO["learners"] if l not in ISO["search"]["space"]]
if ISO_NO_SPACE:
    raise ValueError(
        f"config.yaml: isotopes.search.space has no search space for learner(s) {ISO_NO_SPACE}"
    )
if ISO["predict"]["model"] not in [None, *ISO_RUNS]:
    raise ValueError(
        f"config.yaml: isotopes.predict.model {ISO['predict']['model']!r} is not a configured run; "
        f"choose from {ISO_RUNS} or null (the best by CV hF1)"
    )


wildcard_constraints:
    model="flat|lcpn|lcppn|lcpl|selective",
    learner="xgboost|svc|knn|random_forest|extra_trees|per_node",


# The search space of a run: its learner's, or every configured learner's for the selective model.
ISO_SPACES = {
    **ISO["search"]["space"],
    "per_node": {
        learner: ISO["search"]["space"][learner] for learner in ISO["learners"]
    },
}


# Each dataset's source files: its remote files (fetched by the download rule) or its class table.
ISO_SOURCES = {
    name: (
        {key: downloaded(remote) for key, remote in block["remote"].items()}
        if "remote" in block
        else {"classes": block["classes"]}
    )
    for name, block in ISO["datasets"].items()
}
# Threads of a job scored by the dataset's setting cv_key: leave-one-out folds are shared out over two threads; a
# handful of k-fold fits is cheaper run in-process, two jobs side by side.
ISO_THREADS = lambda cv_key: lambda wildcards: (
    2 if lookup(dataset_block("isotopes", wildcards), cv_key) == "loo" else 1
)
# An input function: path (with {model}, {learner}) for every configured run, of the job's dataset.
ISO_PER_RUN = lambda path: lambda wildcards: expand(
    path, zip, **ISO_RUN_WILDCARDS, dataset=[wildcards.dataset] * len(ISO_RUNS)
)


ISO_FIGURES = [
    "model_comparison",
    "convergence",
    "confusion_matrices",
    "reliability",
    *[f"decision_regions/{run}" for run in ISO_RUNS],
]
ISO_OUTPUTS = [
    f"{ISO_RESULTS}/model_comparison.csv",
    f"{ISO_RESULTS}/model_comparison.tex",
    f"{ISO_RESULTS}/per_level_accuracy.csv",
    f"{ISO_RESULTS}/confusion_matrices.csv",
    f"{ISO_RESULTS}/search_log.csv",
    f"{ISO_RESULTS}/calibration.csv",
    f"{ISO_RESULTS}/conformal.csv",
    f"{ISO_RESULTS}/domain.csv",
    f"{ISO_RESULTS}/provenance.yaml",
    *[
        f"{ISO_RESULTS}/figures/{name}.{ext}"
        for name in ISO_FIGURES
        for ext in ("pdf", "png")
    ],
    *([f"{ISO_RESULTS}/user/predictions.csv"] if ISO["predict"]["input"] else []),
]


rule isotopes:
    input:
        expand(ISO_OUTPUTS, dataset=datasets("isotopes")),


rule isotopes_dataset:
    input:
        unpack(lambda wildcards: ISO_SOURCES[wildcards.dataset]),
    output:
        train=f"{ISO_RESULTS}/data/train.csv",
        external=f"{ISO_RESULTS}/data/external.csv",
    log:
        f"{ISO_LOGS}/dataset.log",
    conda:
        "../../envs/isotopes-data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/make_dataset.py"


rule isotopes_search:
    input:
        train=rules.isotopes_dataset.output.train,
    output:
        points=f"{ISO_RESULTS}/search/{{model}}-{{learner}}.csv",
        best=f"{ISO_RESULTS}/search/{{model}}-{{learner}}.json",
    log:
        f"{ISO_LOGS}/search/{{model}}-{{learner}}.log",
    benchmark:
        f"{ISO_BENCHMARKS}/search/{{model}}-{{learner}}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_THREADS("cv")
    resources:
        runtime=120,
    params:
        space=lambda wildcards: ISO_SPACES[wildcards.learner],
        n_calls=per_dataset("isotopes", "search.n_calls"),
        n_initial_points=ISO["search"]["n_initial_points"],
        cv=per_dataset("isotopes", "cv"),
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/search.py"


rule isotopes_evaluate:
    input:
        train=rules.isotopes_dataset.output.train,
        external=rules.isotopes_dataset.output.external,
        best=rules.isotopes_search.output.best,
    output:
        loo=f"{ISO_RESULTS}/loo/{{model}}-{{learner}}.csv",
        external=f"{ISO_RESULTS}/external/{{model}}-{{learner}}.csv",
        model=f"{ISO_RESULTS}/models/{{model}}-{{learner}}.joblib",
        trust=f"{ISO_RESULTS}/trust/{{model}}-{{learner}}.json",
    log:
        f"{ISO_LOGS}/evaluate/{{model}}-{{learner}}.log",
    benchmark:
        f"{ISO_BENCHMARKS}/evaluate/{{model}}-{{learner}}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_THREADS("cv")
    resources:
        runtime=30,
    params:
        seed=ISO["seed"],
        trust=ISO["trust"],
    script:
        "../scripts/isotopes/evaluate.py"


rule isotopes_nested:
    input:
        train=rules.isotopes_dataset.output.train,
    output:
        f"{ISO_RESULTS}/nested/{{model}}-{{learner}}.csv",
    log:
        f"{ISO_LOGS}/nested/{{model}}-{{learner}}.log",
    benchmark:
        f"{ISO_BENCHMARKS}/nested/{{model}}-{{learner}}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_THREADS("nested.inner_cv")
    resources:
        runtime=240,
    params:
        space=lambda wildcards: ISO_SPACES[wildcards.learner],
        outer_folds=per_dataset("isotopes", "nested.outer_folds"),
        n_calls=per_dataset("isotopes", "nested.n_calls"),
        n_initial_points=ISO["search"]["n_initial_points"],
        inner_cv=per_dataset("isotopes", "nested.inner_cv"),
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/nested.py"


rule isotopes_summary:
    input:
        train=rules.isotopes_dataset.output.train,
        loo=ISO_PER_RUN(rules.isotopes_evaluate.output.loo),
        external=ISO_PER_RUN(rules.isotopes_evaluate.output.external),
        nested=ISO_PER_RUN(rules.isotopes_nested.output[0]),
        points=ISO_PER_RUN(rules.isotopes_search.output.points),
        trust=ISO_PER_RUN(rules.isotopes_evaluate.output.trust),
    output:
        table=study_report(
            f"{ISO_RESULTS}/model_comparison.csv",
            "isotopes",
            "model_comparison_table",
            "tables",
        ),
        latex=f"{ISO_RESULTS}/model_comparison.tex",
        levels=study_report(
            f"{ISO_RESULTS}/per_level_accuracy.csv",
            "isotopes",
            "per_level_accuracy",
            "tables",
        ),
        confusion=study_report(
            f"{ISO_RESULTS}/confusion_matrices.csv",
            "isotopes",
            "confusion_matrices",
            "tables",
        ),
        search_log=study_report(
            f"{ISO_RESULTS}/search_log.csv", "isotopes", "search_log", "tables"
        ),
        calibration=study_report(
            f"{ISO_RESULTS}/calibration.csv", "isotopes", "calibration", "tables"
        ),
        conformal=study_report(
            f"{ISO_RESULTS}/conformal.csv", "isotopes", "conformal", "tables"
        ),
        reliability=f"{ISO_RESULTS}/reliability.csv",
        domain=study_report(f"{ISO_RESULTS}/domain.csv", "isotopes", "domain", "tables"),
    log:
        f"{ISO_LOGS}/summary.log",
    conda:
        "../../envs/isotopes-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=ISO_RUNS,
    script:
        "../scripts/isotopes/summarise.py"


rule isotopes_figure_comparison:
    input:
        table=rules.isotopes_summary.output.table,
    output:
        pdf=f"{ISO_RESULTS}/figures/model_comparison.pdf",
        png=study_report(
            f"{ISO_RESULTS}/figures/model_comparison.png",
            "isotopes",
            "model_comparison",
            "figures",
        ),
    log:
        f"{ISO_LOGS}/figures/model_comparison.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/isotopes/plot_comparison.py"


rule isotopes_figure_convergence:
    input:
        points=ISO_PER_RUN(rules.isotopes_search.output.points),
    output:
        pdf=f"{ISO_RESULTS}/figures/convergence.pdf",
        png=study_report(
            f"{ISO_RESULTS}/figures/convergence.png",
            "isotopes",
            "convergence",
            "figures",
        ),
    log:
        f"{ISO_LOGS}/figures/convergence.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=ISO_RUNS,
    script:
        "../scripts/isotopes/plot_convergence.py"


rule isotopes_figure_confusion:
    input:
        confusion=rules.isotopes_summary.output.confusion,
    output:
        pdf=f"{ISO_RESULTS}/figures/confusion_matrices.pdf",
        png=study_report(
            f"{ISO_RESULTS}/figures/confusion_matrices.png",
            "isotopes",
            "confusion_figure",
            "figures",
        ),
    log:
        f"{ISO_LOGS}/figures/confusion_matrices.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/isotopes/plot_confusion.py"


rule isotopes_figure_reliability:
    input:
        reliability=rules.isotopes_summary.output.reliability,
        calibration=rules.isotopes_summary.output.calibration,
        table=rules.isotopes_summary.output.table,
    output:
        pdf=f"{ISO_RESULTS}/figures/reliability.pdf",
        png=study_report(
            f"{ISO_RESULTS}/figures/reliability.png",
            "isotopes",
            "reliability",
            "figures",
        ),
    log:
        f"{ISO_LOGS}/figures/reliability.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/isotopes/plot_reliability.py"


rule isotopes_figure_decision_regions:
    input:
        train=rules.isotopes_dataset.output.train,
        external=rules.isotopes_dataset.output.external,
        models=ISO_PER_RUN(rules.isotopes_evaluate.output.model),
    output:
        pdf=expand(
            f"{ISO_RESULTS}/figures/decision_regions/{{run}}.pdf",
            run=ISO_RUNS,
            allow_missing=True,
        ),
        png=study_report(
            expand(
                f"{ISO_RESULTS}/figures/decision_regions/{{run}}.png",
                run=ISO_RUNS,
                allow_missing=True,
            ),
            "isotopes",
            "decision_regions",
            "decision regions",
        ),
    log:
        f"{ISO_LOGS}/figures/decision_regions.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        grid_points=ISO["figures"]["grid_points"],
    script:
        "../scripts/isotopes/plot_decision_regions.py"


rule isotopes_predict:
    input:
        samples=ISO["predict"]["input"] or [],
        user=lambda wildcards: user_files("isotopes"),
        table=rules.isotopes_summary.output.table,
        models=ISO_PER_RUN(rules.isotopes_evaluate.output.model),
    output:
        predictions=study_report(
            f"{ISO_RESULTS}/user/predictions.csv", "isotopes", "predictions", "tables"
        ),
        rejected=f"{ISO_RESULTS}/user/rejected.csv",
    log:
        f"{ISO_LOGS}/user/predict.log",
    conda:
        "../../envs/isotopes-ml.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=ISO_RUNS,
        model=ISO["predict"]["model"],
        sd=ISO["predict"]["sd"],
        draws=ISO["predict"]["draws"],
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/predict.py"
