from fingerprintml.io import write_json, write_table
from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.search import SearchSettings, run_search
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    w, p = snakemake.wildcards, snakemake.params
    X, Y = load_table(snakemake.input.train)
    settings = SearchSettings(
        space=p.space, n_calls=p.n_calls, n_initial_points=p.n_initial_points, seed=p.seed, n_jobs=snakemake.threads
    )
    points, best = run_search(X, Y, settings, model=w.model, learner=w.learner, cv=p.cv)
    write_table(points, snakemake.output.points)
    write_json(best, snakemake.output.best)
