from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import split_labelled

with log_to(snakemake.log[0]) as log:
    split = split_labelled(read_table(snakemake.input.labelled), snakemake.params.split, snakemake.params.seed)
    log.info("images per split and class:\n%s", split.groupby(["class", "split"]).size().unstack().to_string())
    write_table(split[["path", "class", "session", "split"]], snakemake.output[0])
