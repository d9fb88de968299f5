import numpy as np

from fingerprintml.gamma.pipeline import features
from fingerprintml.gamma.sigma import Reference
from fingerprintml.io import write_array
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    background = Reference.load(snakemake.input.background).mean_rate if p.subtract_background else None
    write_array(snakemake.output[0], features(np.load(snakemake.input.rates), p.settings, background))
