from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.sources import make_dataset

with log_to(snakemake.log[0]):
    generator = snakemake.params.generator or {}
    labelled, unlabelled = make_dataset(
        snakemake.params.root,
        seed=snakemake.params.seed,
        archive=snakemake.input.get("archive"),
        classes=snakemake.input.get("classes"),
        samples=generator.get("samples", 0),
        images_per_sample=generator.get("images_per_sample", 0),
        workers=snakemake.threads,
    )
    write_table(labelled, snakemake.output.labelled)
    write_table(unlabelled, snakemake.output.unlabelled)
