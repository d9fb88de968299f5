import joblib
import numpy as np
import pandas as pd

from fingerprintml.gamma.combine import CombineSettings
from fingerprintml.gamma.pipeline import fit_combination
from fingerprintml.io import atomic_path
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    combiner = fit_combination(
        (np.load(i.binary_features), np.load(i.multilabel_features)),
        (joblib.load(i.binary_model), joblib.load(i.multilabel_model)),
        pd.read_csv(i.labels),
        pd.read_csv(i.limits),
        p.nuclides,
        CombineSettings(**p.settings),
    )
    with atomic_path(snakemake.output[0]) as tmp:
        joblib.dump(combiner, tmp)
