import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.trust import TrustSettings, sample_abundances, session_abundances

with log_to(snakemake.log[0]) as log:
    i, p = snakemake.input, snakemake.params
    settings = TrustSettings.from_config(p.trust)
    # The test set's samples are its acquisition sessions (labelled), for every run; an inference set's are its
    # samples, for the model that classified them.
    if i.get("split"):
        runs = {
            run: (read_table(test), read_table(validation))
            for run, test, validation in zip(p.runs, i.predictions, i.validation, strict=True)
        }
        table = session_abundances(runs, read_table(i.split), settings, p.seed)
    else:
        predictions = pd.read_parquet(i.predictions)
        table = sample_abundances(
            predictions, read_table(i.validation), predictions["sample"], settings, p.seed, labelled=False
        )
    log.info("abundances:\n%s", table.to_string(index=False))
    write_table(table, snakemake.output[0])
