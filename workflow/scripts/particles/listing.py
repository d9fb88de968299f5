from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import list_images

with log_to(snakemake.log[0]) as log:
    images = list_images(snakemake.params.images) if snakemake.params.images else read_table(snakemake.input.unlabelled)
    if len(images) != snakemake.params.expected:
        raise ValueError(
            f"{len(images)} unlabelled images found, {snakemake.params.expected} when the workflow was planned: "
            "run snakemake again so the shards follow the images"
        )
    log.info("%d unlabelled images in %d samples", len(images), images["sample"].nunique())
    write_table(images[["path", "sample"]], snakemake.output[0])
