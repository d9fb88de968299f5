from fingerprintml.io import write_table
from fingerprintml.isotopes.data import dataset_tables
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    train, external = dataset_tables(dict(snakemake.input.items()), snakemake.params.seed)
    log.info("training set: %d samples; external test set: %d samples", len(train), len(external))
    log.info("training classes:\n%s", train.groupby(["source", "species", "route"]).size().to_string())
    write_table(train, snakemake.output.train)
    write_table(external, snakemake.output.external)
