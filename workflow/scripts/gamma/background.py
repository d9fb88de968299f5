from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.pipeline import background_reference
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.io import read_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    i = snakemake.input
    binned, labels, lines = Binned.load(i.binned), read_table(i.labels), read_lines(i.lines)
    background_reference(binned, labels, lines, **dict(snakemake.params.items())).save(snakemake.output[0])
