from fingerprintml.io import read_table
from fingerprintml.isotopes.figures import model_comparison
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    save_figure(model_comparison(read_table(snakemake.input.table)), snakemake.output.pdf, snakemake.output.png)
