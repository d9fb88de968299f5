from fingerprintml.gamma.figures import write_spectrum_figures
from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.io import read_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    stems = write_spectrum_figures(
        Binned.load(i.binned),
        read_table(i.predictions),
        read_table(i.labels),
        read_lines(i.lines),
        p.nuclides,
        max_spectra=p.max_spectra,
        out_dir=snakemake.output.figures,
    )
    log.info("%d spectrum figures", len(stems))
