from fingerprintml.gamma.figures import confusion_figure
from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    i = snakemake.input
    fig = confusion_figure(read_table(i.confusion), read_table(i.per_nuclide), snakemake.params.method)
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
