from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure
from fingerprintml.xrd.figures import accuracy_vs_strength

with log_to(snakemake.log[0]):
    save_figure(accuracy_vs_strength(read_table(snakemake.input[0])), snakemake.output.pdf, snakemake.output.png)
