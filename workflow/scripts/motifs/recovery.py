from fingerprintml.io import read_table, write_json
from fingerprintml.logs import log_to
from fingerprintml.motifs.tables import read_atom_table, recovery

with log_to(snakemake.log[0]) as log:
    scores = recovery(read_atom_table(snakemake.input.atoms), read_table(snakemake.input.planted))
    log.info("recovery of the planted motif: %s", scores)
    write_json(scores, snakemake.output[0])
