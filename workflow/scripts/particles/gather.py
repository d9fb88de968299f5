from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.inference import gather, write_parquet

with log_to(snakemake.log[0]):
    table, counts, rejected = gather(snakemake.input.predictions, snakemake.input.rejected)
    write_parquet(table, snakemake.output.predictions)
    write_table(counts, snakemake.output.counts)
    write_table(rejected, snakemake.output.rejected)
