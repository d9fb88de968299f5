import pandas as pd

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.trust import novelty_summary

with log_to(snakemake.log[0]) as log:
    summary = novelty_summary(pd.read_parquet(snakemake.input.predictions), ["sample"])
    log.info("flagged particles per sample:\n%s", summary.to_string(index=False))
    write_table(summary, snakemake.output[0])
