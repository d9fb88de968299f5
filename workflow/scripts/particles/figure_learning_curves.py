from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import learning_curves
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    save_figure(learning_curves(read_table(snakemake.input.history)), snakemake.output.pdf, snakemake.output.png)
