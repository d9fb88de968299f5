import numpy as np

from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure
from fingerprintml.xrd.figures import example_patterns

with log_to(snakemake.log[0]):
    examples = dict(np.load(snakemake.input.examples))
    fig = example_patterns(examples, read_table(snakemake.input.phases))
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
