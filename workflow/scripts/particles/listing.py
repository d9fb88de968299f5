from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import inference_listing

with log_to(snakemake.log[0]) as log:
    unlabelled = snakemake.input.get("unlabelled")
    images = inference_listing(
        folder=snakemake.params.folder,
        unlabelled=read_table(unlabelled) if unlabelled else None,
        expected=snakemake.params.expected,
    )
    log.info("%d unlabelled images in %d samples", len(images), images["sample"].nunique())
    write_table(images, snakemake.output[0])
