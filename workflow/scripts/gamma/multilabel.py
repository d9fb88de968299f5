import joblib
import numpy as np

from fingerprintml.gamma.pipeline import TrainingSettings, train_multilabel
from fingerprintml.io import atomic_path, read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    i = snakemake.input
    settings = TrainingSettings(**p.settings, threads=snakemake.threads)
    models, probabilities = train_multilabel(
        np.load(i.train_features),
        read_table(i.train_labels),
        np.load(i.test_features),
        read_table(i.test_labels),
        p.nuclides,
        settings,
    )
    for method, path in zip(settings.methods, snakemake.output.models, strict=True):
        with atomic_path(path) as tmp:
            joblib.dump(models[method], tmp)
    write_table(probabilities, snakemake.output.probabilities)
