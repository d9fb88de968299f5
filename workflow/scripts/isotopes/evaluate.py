import joblib

from fingerprintml.io import atomic_path, read_json, read_table, write_table
from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.evaluate import prediction_table
from fingerprintml.isotopes.models import fit_model, node_probabilities, predict_paths
from fingerprintml.isotopes.search import cross_val_paths, cv_splits
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    w, seed = snakemake.wildcards, snakemake.params.seed
    best = read_json(snakemake.input.best)
    X, Y = load_table(snakemake.input.train)
    predicted = cross_val_paths(
        w.model, w.learner, best["params"], seed, X, Y, cv_splits(Y, best["cv"], seed), snakemake.threads
    )
    write_table(prediction_table(read_table(snakemake.input.train), predicted), snakemake.output.loo)
    estimator = fit_model(w.model, w.learner, best["params"], seed, X, Y)
    X_ext, _ = load_table(snakemake.input.external)
    write_table(
        prediction_table(
            read_table(snakemake.input.external),
            predict_paths(estimator, X_ext),
            node_probabilities(estimator, X_ext),
        ),
        snakemake.output.external,
    )
    with atomic_path(snakemake.output.model) as tmp:
        joblib.dump({"model": w.model, "learner": w.learner, "params": best["params"], "estimator": estimator}, tmp)
    log.info("refitted %s-%s on all %d samples with %s", w.model, w.learner, len(X), best["params"])
