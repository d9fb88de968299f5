from fingerprintml.io import write_arrays
from fingerprintml.logs import log_to
from fingerprintml.xrd.augment import training_set
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.splits import structure_split_classes
from fingerprintml.xrd.store import load_caches

with log_to(snakemake.log[0]) as log:
    p, split = snakemake.params, snakemake.wildcards.split
    caches = load_caches(snakemake.input.caches)
    classes = structure_split_classes(len(caches), split, p.structure_fraction, p.seed)
    arrays = training_set(
        [caches[c] for c in classes],
        Grid.from_config(p.grid),
        wavelength_of(p.wavelength),
        p.augmentation,
        Preprocessing.from_config(p.preprocessing),
        copies=p.copies,
        validation_copies=p.validation_copies,
        seed=p.seed,
        split=split,
        threads=snakemake.threads,
    )
    write_arrays(snakemake.output[0], classes=classes, **arrays)
    log.info(
        "%d training and %d validation patterns of %d phases",
        len(arrays["train_y"]),
        len(arrays["validation_y"]),
        len(classes),
    )
