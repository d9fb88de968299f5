from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import list_images

with log_to(snakemake.log[0]) as log:
    source = snakemake.params.images or snakemake.input.unlabelled
    images = list_images(source) if snakemake.params.images else read_table(source)
    if images.empty:
        raise ValueError(f"no unlabelled images in {source}: nothing to classify")
    # Your own folder's shards were planned from its listing at DAG time; the others follow this listing.
    expected = snakemake.params.expected
    if expected is not None and len(images) != expected:
        raise ValueError(
            f"{len(images)} images found in {source}, {expected} when the workflow was planned: "
            "run snakemake again so the shards follow the images"
        )
    log.info("%d unlabelled images in %d samples", len(images), images["sample"].nunique())
    write_table(images[["path", "sample"]], snakemake.output[0])
