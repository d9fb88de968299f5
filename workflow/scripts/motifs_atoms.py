from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import feature_table, read_catalogue, removable_atoms, table_to_masks
from fingerprintml.motifs.motif import atom_table
from fingerprintml.motifs.structure import read_structure, write_cif, write_xyz

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    cluster = read_structure(snakemake.input.structure)
    catalogue = read_catalogue(snakemake.input.catalogue)
    features = feature_table(table_to_masks(catalogue, len(cluster)), removable_atoms(cluster, p.removable))
    atoms = atom_table(cluster, features, read_table(snakemake.input.shap), p.removable, p.bond_cutoff, p.spread_factor)
    motif = atoms["in_motif"].to_numpy()
    log.info(
        "motif: %d of %d atoms (%s)", motif.sum(), len(atoms), atoms.loc[motif, "element"].value_counts().to_dict()
    )
    write_table(atoms, snakemake.output.table)
    columns = atoms[["acv", "spread", "in_motif"]].astype(float)
    write_xyz(cluster, snakemake.output.xyz, columns, comment="element x y z ACV spread in_motif")
    write_cif(cluster, snakemake.output.cif, "structure")
    write_xyz(cluster.subset(motif), snakemake.output.motif_xyz, comment="extracted motif")
    write_cif(cluster.subset(motif), snakemake.output.motif_cif, "motif")
