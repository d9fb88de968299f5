from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import reliability_figure
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    figure = reliability_figure(read_table(snakemake.input.reliability), read_table(snakemake.input.calibration))
    save_figure(figure, snakemake.output.pdf, snakemake.output.png)
