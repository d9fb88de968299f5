from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.demo import GeneratorSettings, generate
from fingerprintml.motifs.structure import write_gr, write_xyz
from fingerprintml.seeds import rng_for

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    data = generate(GeneratorSettings.from_config(p.generator), rng_for(p.seed, "motifs", "demo-noise"))
    log.info("generated cluster: %d atoms, planted motif: %d atoms", len(data.cluster), data.planted.sum())
    write_xyz(data.cluster, snakemake.output.structure, comment="alpha-Keggin W12O40 with decoy WO6 octahedra")
    write_gr(data.r, data.g, snakemake.output.data, data.header)
    write_table(data.planted_table(), snakemake.output.planted)
