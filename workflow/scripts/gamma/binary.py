import numpy as np

from fingerprintml.gamma.pipeline import TrainingSettings, train_binary, write_models
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.gamma.sigma import Reference
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    i = snakemake.input
    models, scores = train_binary(
        np.load(i.train_features),
        read_table(i.train_labels)["has_source"].to_numpy(),
        np.load(i.test_features),
        read_table(i.test_labels),
        TrainingSettings(**snakemake.params.settings, threads=snakemake.threads),
        test=(Binned.load(i.test_binned), Reference.load(i.background)),
    )
    write_models(models, snakemake.output.models)
    write_table(scores, snakemake.output.scores)
