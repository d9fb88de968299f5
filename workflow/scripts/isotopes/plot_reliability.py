from fingerprintml.io import read_table
from fingerprintml.isotopes.evaluate import best_run
from fingerprintml.isotopes.figures import reliability_diagrams
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    i = snakemake.input
    fig = reliability_diagrams(read_table(i.reliability), read_table(i.calibration), best_run(read_table(i.table)))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
