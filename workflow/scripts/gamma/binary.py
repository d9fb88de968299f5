import joblib
import numpy as np
import pandas as pd

from fingerprintml.gamma.models import binary_model
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.gamma.sigma import Reference, total_score, window_score
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    y_train = read_table(i.train_labels)["has_source"].to_numpy()
    test_labels = read_table(i.test_labels)
    x_train, x_test = np.load(i.train_features), np.load(i.test_features)
    models, scores = {}, pd.DataFrame({"file": test_labels["file"], "has_source": test_labels["has_source"]})
    for method in p.methods:
        model = binary_model(method, p.settings[method], p.scaling, p.seed, snakemake.threads).fit(x_train, y_train)
        models[method] = model
        scores[f"score_{method}"] = model.predict_proba(x_test)[:, 1]
        scores[f"predicted_{method}"] = (scores[f"score_{method}"] >= 0.5).astype(int)
        log.info("%s: test accuracy %.4f", method, (scores[f"predicted_{method}"] == scores["has_source"]).mean())
    test = Binned.load(i.test_binned)
    ref = Reference.load(i.background)
    for name, score, k in [
        ("sigma_total", total_score(test.counts, test.live_time, ref), p.sigma["k_total"]),
        ("sigma_window", window_score(test.counts, test.live_time, ref), p.sigma["k_window"]),
    ]:
        scores[f"score_{name}"] = score
        scores[f"predicted_{name}"] = (score > k).astype(int)
        log.info("%s: test accuracy %.4f", name, (scores[f"predicted_{name}"] == scores["has_source"]).mean())
    for method, path in zip(p.methods, snakemake.output.models, strict=True):
        joblib.dump(models[method], path)
    write_table(scores, snakemake.output.scores)
