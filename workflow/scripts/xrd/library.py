from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.store import load_caches, merge_library, save_caches

with log_to(snakemake.log[0]) as log:
    i = snakemake.input
    phases, caches, rejects = merge_library(
        [read_table(path) for path in i.phases],
        [load_caches(path) for path in i.caches],
        [read_table(path) for path in i.rejects],
    )
    write_table(phases, snakemake.output.phases)
    write_table(rejects, snakemake.output.rejects)
    save_caches(caches, snakemake.output.caches)
    log.info("library: %d phases, %d CIFs rejected", len(phases), len(rejects))
