from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.inference import gather, write_parquet
from fingerprintml.particles.trust import NoveltyDetector

with log_to(snakemake.log[0]):
    detector = snakemake.input.get("detector")
    table, counts, rejected = gather(
        snakemake.input.predictions, snakemake.input.rejected, NoveltyDetector.load(detector) if detector else None
    )
    write_parquet(table, snakemake.output.predictions)
    write_table(counts, snakemake.output.counts)
    write_table(rejected, snakemake.output.rejected)
