import numpy as np

from fingerprintml.gamma.pipeline import TrainingSettings, train_multilabel, write_models
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    train, test = read_table(snakemake.input.train_labels), read_table(snakemake.input.test_labels)
    x_train, x_test = np.load(snakemake.input.train_features), np.load(snakemake.input.test_features)
    settings = TrainingSettings(**p.settings, threads=snakemake.threads)
    models, probabilities = train_multilabel(x_train, train, x_test, test, p.nuclides, settings)
    write_models(models, snakemake.output.models)
    write_table(probabilities, snakemake.output.probabilities)
