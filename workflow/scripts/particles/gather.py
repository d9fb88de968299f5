import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.inference import gather, write_parquet

with log_to(snakemake.log[0]) as log:
    table, counts = gather(snakemake.input.predictions)
    rejected = pd.concat([read_table(path) for path in snakemake.input.rejected], ignore_index=True)
    log.info("%d images classified, %d skipped; counts per sample:\n%s", len(table), len(rejected), counts.to_string())
    write_parquet(table, snakemake.output.predictions)
    write_table(counts, snakemake.output.counts)
    write_table(rejected, snakemake.output.rejected)
