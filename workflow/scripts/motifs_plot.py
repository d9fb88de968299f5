from fingerprintml.io import read_json, read_table
from fingerprintml.logs import log_to
from fingerprintml.motifs import figures
from fingerprintml.motifs.tables import read_atom_table
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    if p.figure == "shap_summary":
        fig = figures.shap_summary(read_table(i.features), read_table(i.shap), p.max_display)
    elif p.figure == "acv_per_atom":
        fig = figures.acv_per_atom(read_atom_table(i.atoms), p.spread_factor)
    elif p.figure == "structure_acv":
        fig = figures.structure_projection(read_atom_table(i.atoms))
    elif p.figure == "rw_distribution":
        fig = figures.rw_histogram(read_table(i.fits), read_json(i.result)["rw"])
    else:
        fig = figures.motif_fit(read_table(i.profile), read_json(i.result))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
