from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure
from fingerprintml.xrd.figures import learning_curves

with log_to(snakemake.log[0]):
    histories = {split: read_table(path) for split, path in zip(snakemake.params.splits, snakemake.input, strict=True)}
    save_figure(learning_curves(histories), snakemake.output.pdf, snakemake.output.png)
