import joblib
import numpy as np
import pandas as pd

from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.pipeline import ClassifySettings, classify_spectra
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.gamma.sigma import Reference
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    i = snakemake.input
    # The user's spectra (gamma_predict) and simulated test spectra also have the peak-based identification beside
    # the models' answer; test spectra with validation spectra also the combination of both.
    identification = pd.read_csv(i.identification, keep_default_na=False) if hasattr(i, "identification") else None
    combination = (joblib.load(i.combiner), pd.read_csv(i.limits)) if hasattr(i, "combiner") else None
    predictions, lines = classify_spectra(
        Binned.load(i.binned),
        (np.load(i.binary_features), np.load(i.multilabel_features)),
        (joblib.load(i.binary_model), joblib.load(i.multilabel_model)),
        Reference.load(i.background).mean_rate,
        read_lines(i.lines),
        ClassifySettings(**snakemake.params.settings),
        identification,
        combination,
    )
    write_table(predictions, snakemake.output.predictions)
    write_table(lines, snakemake.output.lines)
