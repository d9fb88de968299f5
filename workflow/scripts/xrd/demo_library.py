from fingerprintml.logs import log_to
from fingerprintml.xrd.demo import write_demo_library

with log_to(snakemake.log[0]) as log:
    written = write_demo_library(snakemake.output[0], snakemake.params.min_spacing)
    log.info("%d demo phases written as CIF to %s", len(written), snakemake.output[0])
