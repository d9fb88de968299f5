import joblib

from fingerprintml.io import atomic_path, read_json, read_table, write_json, write_table
from fingerprintml.isotopes.evaluate import evaluate_run
from fingerprintml.isotopes.trust import TrustSettings
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    i, o = snakemake.input, snakemake.output
    best = read_json(i.best)
    loo, external, fitted, report = evaluate_run(
        read_table(i.train),
        read_table(i.external),
        best,
        seed=snakemake.params.seed,
        trust=TrustSettings.from_config(snakemake.params.trust),
        n_jobs=snakemake.threads,
    )
    write_table(loo, o.loo)
    write_table(external, o.external)
    write_json(report, o.trust)
    with atomic_path(o.model) as tmp:
        joblib.dump(fitted, tmp)
    log.info("refitted %s-%s on all %d samples with %s", best["model"], best["learner"], len(loo), best["params"])
