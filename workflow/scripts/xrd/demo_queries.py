from fingerprintml.logs import log_to
from fingerprintml.xrd.demo import write_demo_queries
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches

# Simulated "measured" patterns of library phases, written the way instruments export them.
with log_to(snakemake.log[0]):
    p = snakemake.params
    write_demo_queries(
        load_caches(snakemake.input.caches),
        snakemake.output[0],
        queries=p.queries,
        wavelength=wavelength_of(p.wavelength),
        augmentation=p.augmentation,
        seed=p.seed,
    )
