"""Speed of the compiled extremely randomised trees against scikit-learn's ExtraTreesClassifier, side by side.

One leave-one-out evaluation of the flat and LCPL models (113 refits of the NanoTracer training set, the unit of
work of the hyperparameter search) with 150 trees, depth 8, on one thread, and the hierarchical F1 it scores. The two
implementations draw different random numbers, so their scores differ by the forests' randomness: over seeds
the flat model's leave-one-out hF1 spans 0.809-0.824 with scikit-learn (seeds 0-4, mean 0.815) and 0.810-0.832
with the compiled trees (seeds 0-9, mean 0.819).

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/isotopes_speed.py [mirror_dir]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier as ScikitExtraTrees

from fingerprintml.isotopes import models
from fingerprintml.isotopes.data import FEATURES, label_paths, read_paper_dataset
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.search import cross_val_paths, cv_splits

REPO = Path(__file__).resolve().parents[2]
NANOTRACER = "xliu-deep/NanoTracer/878dffbd13ecb529a5f971365fce437c1d2994e3/data"
PARAMS = {"n_estimators": 150, "max_depth": 8, "min_samples_leaf": 1}
SEED = 20240521


def scikit_learner(learner: str, params: dict, seed: int):
    return ScikitExtraTrees(**params, n_jobs=1, random_state=seed)


def timed_loo(X: np.ndarray, Y: np.ndarray, model: str) -> tuple[float, float]:
    start = time.perf_counter()
    predicted = cross_val_paths(
        X, Y, cv_splits(Y, "loo", SEED), model=model, learner="extra_trees", params=PARAMS, seed=SEED
    )
    return time.perf_counter() - start, hierarchical_f1(Y, predicted)


def main(mirror: Path) -> None:
    data = mirror / NANOTRACER
    names = ["X_train.txt", "y_train_hiclass.csv", "X_test.txt", "y_test.csv", "X_test_Troll.txt"]
    train, _ = read_paper_dataset(*(str(data / name) for name in names))
    X, Y = train[FEATURES].to_numpy(dtype=float), label_paths(train)
    compiled = models.base_learner
    compiled("extra_trees", PARAMS, SEED).fit(X[:10], np.arange(10) % 2)  # compile (or load the cache) first
    print(f"{'model':6} {'compiled s':>10} {'sklearn s':>10} {'speed-up':>9} {'hF1 compiled':>13} {'hF1 sklearn':>12}")
    for model in ("flat", "lcpl"):
        ours, ours_f1 = timed_loo(X, Y, model)
        models.base_learner = scikit_learner
        try:
            theirs, theirs_f1 = timed_loo(X, Y, model)
        finally:
            models.base_learner = compiled
        print(f"{model:6} {ours:10.1f} {theirs:10.1f} {theirs / ours:8.1f}x {ours_f1:13.3f} {theirs_f1:12.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".." / "shared" / "mirror")
