from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_fits_table
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]) as log:
    cluster = read_structure(snakemake.input.structure)
    catalogue, fits = read_fits_table(snakemake.input.table, len(cluster))
    log.info("%d cut-outs fitted elsewhere, Rw %.4f to %.4f", len(fits), fits["rw"].min(), fits["rw"].max())
    write_table(catalogue, snakemake.output.catalogue)
    write_table(fits, snakemake.output.fits)
