from fingerprintml.io import write_table
from fingerprintml.isotopes.data import read_paper_dataset
from fingerprintml.isotopes.demo import demo_dataset, read_class_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    if snakemake.params.dataset == "paper":
        i = snakemake.input
        train, external = read_paper_dataset(i.x_train, i.y_train, i.x_test, i.y_test, i.x_test_troll)
    else:
        train, external = demo_dataset(read_class_table(snakemake.input.classes), snakemake.params.seed)
    log.info("training set: %d samples; external test set: %d samples", len(train), len(external))
    log.info("training classes:\n%s", train.groupby(["source", "species", "route"]).size().to_string())
    write_table(train, snakemake.output.train)
    write_table(external, snakemake.output.external)
