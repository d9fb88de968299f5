from pathlib import Path

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import list_images, read_class_tables
from fingerprintml.particles.demo import read_class_table, write_demo_dataset
from fingerprintml.particles.paper import extract_archive

with log_to(snakemake.log[0]) as log:
    root = Path(snakemake.params.root)
    if snakemake.params.dataset == "paper":
        extract_archive(snakemake.input.archive, root)
    else:
        demo = snakemake.params.demo
        classes = read_class_table(snakemake.input.classes)
        write_demo_dataset(
            classes, root, snakemake.params.seed, demo["images_per_sample"], demo["samples"], snakemake.threads
        )
    labelled = read_class_tables(root)
    unlabelled = list_images(root / "datasets" / "test")
    log.info("labelled images per class:\n%s", labelled["class"].value_counts().to_string())
    log.info("unlabelled images: %d in %d samples", len(unlabelled), unlabelled["sample"].nunique())
    write_table(labelled, snakemake.output.labelled)
    write_table(unlabelled, snakemake.output.unlabelled)
