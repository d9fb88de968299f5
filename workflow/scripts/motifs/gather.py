from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.pipeline import gather_fits

with log_to(snakemake.log[0]) as log:
    shards = [read_table(path) for path in snakemake.input.shards]
    table = gather_fits(read_catalogue(snakemake.input.catalogue), shards)
    log.info("Rw: min %.4f, median %.4f, max %.4f", table["rw"].min(), table["rw"].median(), table["rw"].max())
    write_table(table, snakemake.output[0], float_format="%.8g")
