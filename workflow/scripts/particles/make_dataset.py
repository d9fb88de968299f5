from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.folders import FolderSettings
from fingerprintml.particles.sources import make_dataset

with log_to(snakemake.log[0]):
    p = snakemake.params
    generator = p.generator or {}
    folder = p.folder or {}
    labelled, unlabelled, unreadable = make_dataset(
        p.root,
        seed=p.seed,
        archive=snakemake.input.get("archive"),
        classes=snakemake.input.get("classes"),
        samples=generator.get("samples", 0),
        images_per_sample=generator.get("images_per_sample", 0),
        workers=snakemake.threads,
        folder=folder.get("folder"),
        table=folder.get("table"),
        folder_settings=FolderSettings.from_block(p.reading) if folder else None,
    )
    write_table(labelled, snakemake.output.labelled)
    write_table(unlabelled, snakemake.output.unlabelled)
    write_table(unreadable, snakemake.output.unreadable)
