from fingerprintml.io import write_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.fitting import FitSettings, RefineSettings
from fingerprintml.motifs.pipeline import refine_motif
from fingerprintml.motifs.structure import read_gr, read_structure
from fingerprintml.motifs.tables import read_atom_table

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    cluster = read_structure(snakemake.input.structure)
    atoms = read_atom_table(snakemake.input.atoms)
    r, g = read_gr(snakemake.input.data)
    pdf, fit = PDFSettings.from_config(p.pdf), FitSettings.from_config(p.fit)
    result, profile = refine_motif(
        cluster, atoms["in_motif"].to_numpy(), r, g, pdf, fit, RefineSettings.from_config(p.refine)
    )
    log.info("motif fit: %s", result)
    write_json(result, snakemake.output.result)
    write_table(profile, snakemake.output.profile, float_format="%.8g")
