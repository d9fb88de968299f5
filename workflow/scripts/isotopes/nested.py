from fingerprintml.io import write_table
from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.search import nested_cv_paths
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    w, p = snakemake.wildcards, snakemake.params
    X, Y = load_table(snakemake.input.train)
    folds = nested_cv_paths(
        w.model,
        w.learner,
        p.space,
        X,
        Y,
        p.outer_folds,
        p.inner_cv,
        p.n_calls,
        p.n_initial_points,
        p.seed,
        snakemake.threads,
    )
    write_table(folds, snakemake.output[0])
