from fingerprintml.io import read_json, read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure
from fingerprintml.xrd.figures import reliability_diagram

with log_to(snakemake.log[0]):
    fig = reliability_diagram(read_table(snakemake.input.reliability), read_json(snakemake.input.confidence))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
