import numpy as np

from fingerprintml.gamma.features import compute
from fingerprintml.gamma.sigma import Reference
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    rates = np.load(snakemake.input.rates)
    if snakemake.params.subtract_background:
        rates = rates - Reference.load(snakemake.input.background).mean_rate[None, :]
    features = compute(rates, snakemake.params.settings)
    log.info("%s features: %s", snakemake.params.settings["method"], features.shape)
    np.save(snakemake.output[0], features)
