from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import build_catalogue, masks_to_table
from fingerprintml.motifs.structure import read_structure
from fingerprintml.seeds import rng_for

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    cluster = read_structure(snakemake.input.structure)
    masks = build_catalogue(cluster, p.removable, p.bond_cutoff, p.cutouts, rng_for(p.seed, "motifs", "catalogue"))
    log.info("%d cut-outs of %d atoms; mean size %.1f atoms", len(masks), len(cluster), masks.sum(axis=1).mean())
    write_table(masks_to_table(masks), snakemake.output[0])
