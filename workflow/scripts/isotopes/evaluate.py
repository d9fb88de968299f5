import joblib

from fingerprintml.io import atomic_path, read_json, read_table, write_table
from fingerprintml.isotopes.evaluate import evaluate_run
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    i, o = snakemake.input, snakemake.output
    best = read_json(i.best)
    loo, external, fitted = evaluate_run(
        read_table(i.train), read_table(i.external), best, seed=snakemake.params.seed, n_jobs=snakemake.threads
    )
    write_table(loo, o.loo)
    write_table(external, o.external)
    with atomic_path(o.model) as tmp:
        joblib.dump(fitted, tmp)
    log.info("refitted %s-%s on all %d samples with %s", best["model"], best["learner"], len(loo), best["params"])
