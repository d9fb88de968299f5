import joblib

from fingerprintml.io import read_table, write_table
from fingerprintml.isotopes.evaluate import best_run
from fingerprintml.isotopes.predict import classify, read_samples
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    run = snakemake.params.model or best_run(read_table(snakemake.input.table))
    fitted = joblib.load(snakemake.input.models[snakemake.params.runs.index(run)])
    samples, rejected = read_samples(snakemake.input.samples)
    log.info("%d samples read, %d rejected; classifying with %s", len(samples), len(rejected), run)
    write_table(classify(fitted["estimator"], samples, run), snakemake.output.predictions)
    write_table(rejected, snakemake.output.rejected)
