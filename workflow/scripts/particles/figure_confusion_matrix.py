from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import confusion_figure
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    confusion = read_table(snakemake.input.confusion)
    write_table(confusion, snakemake.output.table)
    save_figure(confusion_figure(confusion), snakemake.output.pdf, snakemake.output.png)
