import numpy as np

from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import augmented_set
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.splits import structure_split_classes
from fingerprintml.xrd.store import load_caches

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    caches = load_caches(snakemake.input.caches)
    n_phases = len(read_table(snakemake.input.phases))
    classes = structure_split_classes(n_phases, snakemake.wildcards.split, p.structure_fraction, p.seed)
    library = [caches[c] for c in classes]
    grid, wavelength = Grid.from_config(p.grid), wavelength_of(p.wavelength)
    arrays = {"classes": classes}
    for name, copies in [("train", p.copies), ("validation", p.validation_copies)]:
        labels = np.repeat(np.arange(len(classes)), copies)
        rng = rng_for(p.seed, "xrd", snakemake.wildcards.split, name)
        arrays[f"{name}_x"] = augmented_set(
            library, labels, grid, wavelength, p.augmentation, rng, threads=snakemake.threads
        )
        arrays[f"{name}_y"] = labels
        log.info("%s: %d patterns of %d phases", name, len(labels), len(classes))
    np.savez(snakemake.output[0], **arrays)
