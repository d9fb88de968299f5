from fingerprintml.io import write_table
from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.search import SearchSettings, nested_cv_paths
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    w, p = snakemake.wildcards, snakemake.params
    X, Y = load_table(snakemake.input.train)
    settings = SearchSettings(
        space=p.space, n_calls=p.n_calls, n_initial_points=p.n_initial_points, seed=p.seed, n_jobs=snakemake.threads
    )
    folds = nested_cv_paths(
        X, Y, settings, model=w.model, learner=w.learner, outer_folds=p.outer_folds, inner_cv=p.inner_cv
    )
    write_table(folds, snakemake.output[0])
