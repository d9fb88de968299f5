from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.motif import extract_motif
from fingerprintml.motifs.structure import read_structure, write_cif, write_xyz

with log_to(snakemake.log[0]) as log:
    p, out = snakemake.params, snakemake.output
    cluster = read_structure(snakemake.input.structure)
    atoms = extract_motif(
        cluster,
        read_catalogue(snakemake.input.catalogue),
        read_table(snakemake.input.shap),
        removable=p.removable,
        cutoff=p.bond_cutoff,
        spread_factor=p.spread_factor,
        bootstrap=read_table(snakemake.input.bootstrap),
        level=p.level,
    )
    motif = atoms["in_motif"].to_numpy()
    log.info(
        "motif: %d of %d atoms (%s)", motif.sum(), len(atoms), atoms.loc[motif, "element"].value_counts().to_dict()
    )
    uncertain = atoms.loc[atoms["p_in_motif"].between(0.1, 0.9, inclusive="neither"), "index"].tolist()
    log.info("atoms with in-motif probability strictly between 0.1 and 0.9: %s", uncertain)
    write_table(atoms, out.table)
    columns = atoms[["acv", "spread", "in_motif"]].astype(float)
    write_xyz(cluster, out.xyz, columns, comment="element x y z ACV spread in_motif")
    write_cif(cluster, out.cif, "structure")
    write_xyz(cluster.subset(motif), out.motif_xyz, comment="extracted motif")
    write_cif(cluster.subset(motif), out.motif_cif, "motif")
