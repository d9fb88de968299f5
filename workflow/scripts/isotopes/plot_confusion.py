from fingerprintml.io import read_table
from fingerprintml.isotopes.figures import confusion_matrices
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    fig = confusion_matrices(read_table(snakemake.input.confusion))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
