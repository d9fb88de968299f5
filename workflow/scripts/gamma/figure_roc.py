from fingerprintml.gamma.figures import multilabel_roc_figure
from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    i = snakemake.input
    fig = multilabel_roc_figure(read_table(i.probabilities), read_table(i.labels), snakemake.params.nuclides)
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
