import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.trust import TrustSettings, sample_abundances, test_sessions

with log_to(snakemake.log[0]) as log:
    settings = TrustSettings.from_config(snakemake.params.trust)
    # The test set's samples are its acquisition sessions (labelled); an inference set's are its samples.
    if snakemake.input.get("split"):
        predictions = read_table(snakemake.input.predictions)
        samples, labelled = test_sessions(predictions, read_table(snakemake.input.split)), True
    else:
        predictions = pd.read_parquet(snakemake.input.predictions)
        samples, labelled = predictions["sample"], False
    table = sample_abundances(
        predictions, read_table(snakemake.input.validation), samples, settings, snakemake.params.seed, labelled
    )
    log.info("abundances:\n%s", table.to_string(index=False))
    write_table(table, snakemake.output[0])
