from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import learning_curves
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    history = read_table(snakemake.input.history)
    fig = learning_curves({run: rows for run, rows in history.groupby("run", sort=False)})
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
