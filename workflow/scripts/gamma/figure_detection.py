from fingerprintml.gamma.figures import detection_figure
from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    save_figure(detection_figure(read_table(snakemake.input.curve)), snakemake.output.pdf, snakemake.output.png)
