import joblib
import numpy as np
import pandas as pd

from fingerprintml.gamma.models import multilabel_model
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    y_train = read_table(i.train_labels)[p.nuclides].to_numpy()
    test_labels = read_table(i.test_labels)
    x_train, x_test = np.load(i.train_features), np.load(i.test_features)
    models, tables = {}, []
    for method in p.methods:
        model = multilabel_model(
            method, p.settings[method], p.scaling, p.calibration_fraction, p.seed, snakemake.threads
        )
        models[method] = model.fit(x_train, y_train)
        probability = model.predict_proba(x_test)
        table = pd.DataFrame(probability, columns=[f"p_{n}" for n in p.nuclides])
        table.insert(0, "method", method)
        table.insert(0, "file", test_labels["file"])
        tables.append(table)
        exact = ((probability >= p.threshold).astype(int) == test_labels[p.nuclides].to_numpy()).all(axis=1).mean()
        log.info("%s: test exact match %.4f", method, exact)
    for method, path in zip(p.methods, snakemake.output.models, strict=True):
        joblib.dump(models[method], path)
    write_table(pd.concat(tables, ignore_index=True), snakemake.output.probabilities)
