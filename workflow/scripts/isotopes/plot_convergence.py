from fingerprintml.io import read_table
from fingerprintml.isotopes.figures import convergence
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    points = {run: read_table(p) for run, p in zip(snakemake.params.runs, snakemake.input.points, strict=True)}
    save_figure(convergence(points), snakemake.output.pdf, snakemake.output.png)
