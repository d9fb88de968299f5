ISO = config["isotopes"]
ISO_RESULTS = "results/isotopes"
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
ISO_SETTINGS = {
    "cv": ISO["cv"][ISO["dataset"]],
    "n_calls": ISO["search"]["n_calls"][ISO["dataset"]],
    "outer_folds": ISO["nested"]["outer_folds"][ISO["dataset"]],
    "nested_n_calls": ISO["nested"]["n_calls"][ISO["dataset"]],
    "inner_cv": ISO["nested"]["inner_cv"][ISO["dataset"]],
}
# Leave-one-out folds are shared out over a job's threads; a handful of k-fold fits is cheaper run
# in-process, two jobs side by side.
ISO_THREADS = 2 if ISO_SETTINGS["cv"] == "loo" else 1
ISO_NESTED_THREADS = 2 if ISO_SETTINGS["inner_cv"] == "loo" else 1
ISO_RAW = {
    "x_train": "isotopes/X_train.txt",
    "y_train": "isotopes/y_train_hiclass.csv",
    "x_test": "isotopes/X_test.txt",
    "y_test": "isotopes/y_test.csv",
    "x_test_troll": "isotopes/X_test_Troll.txt",
}


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


ISO_DATASET_INPUT = (
    {key: downloaded(name) for key, name in ISO_RAW.items()}
    if ISO["dataset"] == "paper"
    else {"classes": ISO["demo"]["classes"]}
)
ISO_FIGURES = [
    "model_comparison",
    "convergence",
    "confusion_matrices",
    *[f"decision_regions/{run}" for run in ISO_RUNS],
]
ISO_OUTPUTS = [
    f"{ISO_RESULTS}/model_comparison.csv",
    f"{ISO_RESULTS}/model_comparison.tex",
    f"{ISO_RESULTS}/per_level_accuracy.csv",
    f"{ISO_RESULTS}/confusion_matrices.csv",
    f"{ISO_RESULTS}/search_log.csv",
    f"{ISO_RESULTS}/provenance.yaml",
    *[
        f"{ISO_RESULTS}/figures/{name}.{ext}"
        for name in ISO_FIGURES
        for ext in ("pdf", "png")
    ],
    *([f"{ISO_RESULTS}/predictions.csv"] if ISO["predict"]["input"] else []),
]


rule isotopes:
    input:
        ISO_OUTPUTS,


rule isotopes_dataset:
    input:
        **ISO_DATASET_INPUT,
    output:
        train=f"{ISO_RESULTS}/data/train.csv",
        external=f"{ISO_RESULTS}/data/external.csv",
    log:
        "logs/isotopes/dataset.log",
    conda:
        "../../envs/isotopes-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        dataset=ISO["dataset"],
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
        "logs/isotopes/search/{model}-{learner}.log",
    benchmark:
        "benchmarks/isotopes/search/{model}-{learner}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_THREADS
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        space=lambda wildcards: ISO_SPACES[wildcards.learner],
        n_calls=ISO_SETTINGS["n_calls"],
        n_initial_points=ISO["search"]["n_initial_points"],
        cv=ISO_SETTINGS["cv"],
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
    log:
        "logs/isotopes/evaluate/{model}-{learner}.log",
    benchmark:
        "benchmarks/isotopes/evaluate/{model}-{learner}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/evaluate.py"


rule isotopes_nested:
    input:
        train=rules.isotopes_dataset.output.train,
    output:
        f"{ISO_RESULTS}/nested/{{model}}-{{learner}}.csv",
    log:
        "logs/isotopes/nested/{model}-{learner}.log",
    benchmark:
        "benchmarks/isotopes/nested/{model}-{learner}.tsv"
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: ISO_NESTED_THREADS
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        space=lambda wildcards: ISO_SPACES[wildcards.learner],
        outer_folds=ISO_SETTINGS["outer_folds"],
        n_calls=ISO_SETTINGS["nested_n_calls"],
        n_initial_points=ISO["search"]["n_initial_points"],
        inner_cv=ISO_SETTINGS["inner_cv"],
        seed=ISO["seed"],
    script:
        "../scripts/isotopes/nested.py"


rule isotopes_summary:
    input:
        train=rules.isotopes_dataset.output.train,
        loo=expand(rules.isotopes_evaluate.output.loo, zip, **ISO_RUN_WILDCARDS),
        external=expand(
            rules.isotopes_evaluate.output.external, zip, **ISO_RUN_WILDCARDS
        ),
        nested=expand(rules.isotopes_nested.output[0], zip, **ISO_RUN_WILDCARDS),
        points=expand(rules.isotopes_search.output.points, zip, **ISO_RUN_WILDCARDS),
    output:
        table=report(
            f"{ISO_RESULTS}/model_comparison.csv",
            caption="../report/isotopes/model_comparison_table.rst",
            category="isotopes",
            subcategory="tables",
        ),
        latex=f"{ISO_RESULTS}/model_comparison.tex",
        levels=report(
            f"{ISO_RESULTS}/per_level_accuracy.csv",
            caption="../report/isotopes/per_level_accuracy.rst",
            category="isotopes",
            subcategory="tables",
        ),
        confusion=report(
            f"{ISO_RESULTS}/confusion_matrices.csv",
            caption="../report/isotopes/confusion_matrices.rst",
            category="isotopes",
            subcategory="tables",
        ),
        search_log=report(
            f"{ISO_RESULTS}/search_log.csv",
            caption="../report/isotopes/search_log.rst",
            category="isotopes",
            subcategory="tables",
        ),
    log:
        "logs/isotopes/summary.log",
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=ISO_RUNS,
    script:
        "../scripts/isotopes/summarise.py"


rule isotopes_comparison_figure:
    input:
        table=rules.isotopes_summary.output.table,
    output:
        pdf=f"{ISO_RESULTS}/figures/model_comparison.pdf",
        png=report(
            f"{ISO_RESULTS}/figures/model_comparison.png",
            caption="../report/isotopes/model_comparison.rst",
            category="isotopes",
            subcategory="figures",
        ),
    log:
        "logs/isotopes/figures/model_comparison.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/isotopes/plot_comparison.py"


rule isotopes_convergence_figure:
    input:
        points=expand(rules.isotopes_search.output.points, zip, **ISO_RUN_WILDCARDS),
    output:
        pdf=f"{ISO_RESULTS}/figures/convergence.pdf",
        png=report(
            f"{ISO_RESULTS}/figures/convergence.png",
            caption="../report/isotopes/convergence.rst",
            category="isotopes",
            subcategory="figures",
        ),
    log:
        "logs/isotopes/figures/convergence.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=ISO_RUNS,
    script:
        "../scripts/isotopes/plot_convergence.py"


rule isotopes_confusion_figure:
    input:
        confusion=rules.isotopes_summary.output.confusion,
    output:
        pdf=f"{ISO_RESULTS}/figures/confusion_matrices.pdf",
        png=report(
            f"{ISO_RESULTS}/figures/confusion_matrices.png",
            caption="../report/isotopes/confusion_figure.rst",
            category="isotopes",
            subcategory="figures",
        ),
    log:
        "logs/isotopes/figures/confusion_matrices.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/isotopes/plot_confusion.py"


rule isotopes_decision_regions:
    input:
        train=rules.isotopes_dataset.output.train,
        external=rules.isotopes_dataset.output.external,
        models=expand(rules.isotopes_evaluate.output.model, zip, **ISO_RUN_WILDCARDS),
    output:
        pdf=expand(f"{ISO_RESULTS}/figures/decision_regions/{{run}}.pdf", run=ISO_RUNS),
        png=report(
            expand(
                f"{ISO_RESULTS}/figures/decision_regions/{{run}}.png", run=ISO_RUNS
            ),
            caption="../report/isotopes/decision_regions.rst",
            category="isotopes",
            subcategory="decision regions",
        ),
    log:
        "logs/isotopes/figures/decision_regions.log",
    conda:
        "../../envs/isotopes-figures.yaml"
    threads: 1
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
        table=rules.isotopes_summary.output.table,
        models=expand(rules.isotopes_evaluate.output.model, zip, **ISO_RUN_WILDCARDS),
    output:
        predictions=report(
            f"{ISO_RESULTS}/predictions.csv",
            caption="../report/isotopes/predictions.rst",
            category="isotopes",
            subcategory="tables",
        ),
        rejected=f"{ISO_RESULTS}/predictions_rejected.csv",
    log:
        "logs/isotopes/predict.log",
    conda:
        "../../envs/isotopes-ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        runs=ISO_RUNS,
        model=ISO["predict"]["model"],
    script:
        "../scripts/isotopes/predict.py"
