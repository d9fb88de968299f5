from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.pipeline import background_reference
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.io import read_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    i = snakemake.input
    ref = background_reference(
        Binned.load(i.binned),
        read_table(i.labels),
        read_lines(i.lines),
        nuclides=p.nuclides,
        resolution=p.resolution,
        window_fwhm=p.window_fwhm,
    )
    ref.save(snakemake.output[0])
