from fingerprintml.logs import log_to
from fingerprintml.motifs.interactive import write_structure_html
from fingerprintml.motifs.tables import read_atom_table

with log_to(snakemake.log[0]):
    write_structure_html(
        read_atom_table(snakemake.input.atoms),
        snakemake.output[0],
        bond_cutoff=snakemake.params.bond_cutoff,
        title=f"motifs, dataset {snakemake.wildcards.dataset}: ACV per atom (marker: in-motif probability)",
    )
