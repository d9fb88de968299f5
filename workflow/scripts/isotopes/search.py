from fingerprintml.io import write_json, write_table
from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.search import bayes_search, best_params, best_score, cv_splits
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    w, p = snakemake.wildcards, snakemake.params
    X, Y = load_table(snakemake.input.train)
    points = bayes_search(
        w.model,
        w.learner,
        p.space,
        X,
        Y,
        cv_splits(Y, p.cv, p.seed),
        p.n_calls,
        p.n_initial_points,
        p.seed,
        snakemake.threads,
        desc=f"{w.model}-{w.learner}",
    )
    write_table(points, snakemake.output.points)
    write_json(
        {
            "model": w.model,
            "learner": w.learner,
            "cv": p.cv,
            "params": best_params(points, p.space),
            "hF1": best_score(points),
        },
        snakemake.output.best,
    )
