from fingerprintml.io import read_json, read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.confidence import BootstrapSettings, bootstrap_motif
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]):
    p = snakemake.params
    table = bootstrap_motif(
        read_structure(snakemake.input.structure),
        read_catalogue(snakemake.input.catalogue),
        read_table(snakemake.input.fits),
        read_json(snakemake.input.metrics),
        removable=p.removable,
        cutoff=p.bond_cutoff,
        spread_factor=p.spread_factor,
        settings=BootstrapSettings.from_config(p.bootstrap),
        seed=p.seed,
        threads=snakemake.threads,
    )
    write_table(table, snakemake.output[0])
