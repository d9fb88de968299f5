"""Cross-validation splits and the Bayesian hyperparameter search, on a generated training set (no mirror)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skopt
from skopt.space import Integer, Real

from fingerprintml.isotopes import search
from fingerprintml.isotopes.data import leaf_names
from fingerprintml.isotopes.search import SearchSettings, bayes_search, best_params, cv_splits, evaluated_value

from .conftest import REPO

SPACE = {
    "n_estimators": {"low": 2, "high": 12},
    "learning_rate": {"low": 0.05, "high": 0.5, "prior": "log-uniform"},
}
SETTINGS = SearchSettings(space=SPACE, n_calls=4, n_initial_points=2, seed=5)


@pytest.fixture(scope="module")
def train_xy():
    """A training set like NanoTracer's (113 samples, seven leaves, label paths with empty levels below shallow
    leaves), drawn from the demo's class table: the search's tests need no mirror."""
    classes = pd.read_csv(REPO / "resources" / "isotopes" / "demo_classes.csv", keep_default_na=False)
    rng = np.random.default_rng(20240521)
    features, paths = [], []
    for cls in classes[classes["set"] == "train"].itertuples():
        n = int(cls.n)
        features.append(
            np.column_stack([rng.normal(cls.d18O_mean, cls.d18O_sd, n), rng.normal(cls.d56Fe_mean, cls.d56Fe_sd, n)])
        )
        paths += [[cls.source, cls.species, cls.route]] * n
    X, Y = np.round(np.vstack(features), 2), np.array(paths, dtype=str)
    assert X.shape == (113, 2) and len(leaf_names(Y).tolist()) == 113 and len(set(leaf_names(Y))) == 7
    return X, Y


@pytest.fixture(scope="module")
def subset(train_xy):
    """Every second training sample (57 of 113), all seven leaves present."""
    X, Y = train_xy
    return X[::2], Y[::2]


def test_leave_one_out_splits(train_xy):
    _, Y = train_xy
    splits = cv_splits(Y, "loo", 0)
    assert len(splits) == len(Y)
    for i, (train, test) in enumerate(splits):
        assert test.tolist() == [i]
        assert len(train) == len(Y) - 1
        assert i not in train


def test_stratified_kfold_covers_each_sample_once(train_xy):
    _, Y = train_xy
    splits = cv_splits(Y, 5, 0)
    assert len(splits) == 5
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(len(Y)))
    leaves = leaf_names(Y)
    classes, totals = np.unique(leaves, return_counts=True)
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == len(Y)
        for cls, total in zip(classes, totals, strict=True):
            in_test = (leaves[test] == cls).sum()
            assert abs(in_test - total / 5) < 1, (cls, in_test, total)


def test_kfold_is_seeded(train_xy):
    _, Y = train_xy
    same = [t.tolist() for _, t in cv_splits(Y, 5, 1)] == [t.tolist() for _, t in cv_splits(Y, 5, 1)]
    other = [t.tolist() for _, t in cv_splits(Y, 5, 1)] != [t.tolist() for _, t in cv_splits(Y, 5, 2)]
    assert same
    assert other


@pytest.fixture(scope="module")
def search_runs(subset):
    X, Y = subset
    splits = cv_splits(Y, 3, 0)
    return [bayes_search(X, Y, splits, SETTINGS, model="lcppn", learner="xgboost") for _ in range(2)]


def test_bayes_search_rows_and_running_best(search_runs):
    points = search_runs[0]
    assert len(points) == 4
    assert points["call"].tolist() == [1, 2, 3, 4]
    assert points["best_hF1"].is_monotonic_increasing
    np.testing.assert_allclose(points["best_hF1"], np.maximum.accumulate(points["hF1"]))
    assert ((points["hF1"] > 0.5) & (points["hF1"] <= 1)).all()
    assert (points["hF1_no_root"] < points["hF1"]).all()
    assert points["n_estimators"].between(2, 12).all()
    assert points["learning_rate"].between(0.05, 0.5).all()


def test_best_params_types_and_values(search_runs):
    points = search_runs[0]
    params = best_params(points, SPACE)
    assert type(params["n_estimators"]) is int
    assert type(params["learning_rate"]) is float
    best = points.loc[points["hF1"].idxmax()]
    assert params["n_estimators"] == best["n_estimators"]
    assert params["learning_rate"] == best["learning_rate"]


def test_bayes_search_is_reproducible(search_runs):
    first, second = search_runs
    cols = ["n_estimators", "learning_rate", "hF1"]
    assert first[cols].to_dict("records") == second[cols].to_dict("records")


def test_evaluated_values_are_rounded_within_bounds():
    c = Real(0.1, 1000.0, prior="log-uniform", name="C")
    assert evaluated_value(np.float64(0.10809489973840512), c) == 0.1081
    assert evaluated_value(68.08015755767475, c) == evaluated_value(68.08015755767482, c) == 68.08
    tight = Real(0.123456, 0.987654, name="x")
    assert evaluated_value(0.987654, tight) == 0.987654 and evaluated_value(0.123456, tight) == 0.1235
    depth = evaluated_value(np.int64(3), Integer(1, 5, name="max_depth"))
    assert depth == 3 and type(depth) is int


def test_search_path_ignores_last_bit_differences_of_the_proposals(subset, search_runs, monkeypatch):
    """The Gaussian process's proposals differ in their last bits between BLAS kernels (machines): shifted by one
    ulp, the search evaluates the same points and scores."""

    def one_ulp_off(func, dims, **kwargs):
        def shifted(point):
            return func([v if isinstance(v, int | np.integer) else np.nextafter(v, np.inf) for v in point])

        return skopt.gp_minimize(shifted, dims, **kwargs)

    monkeypatch.setattr(search, "gp_minimize", one_ulp_off)
    X, Y = subset
    shifted = bayes_search(X, Y, cv_splits(Y, 3, 0), SETTINGS, model="lcppn", learner="xgboost")
    cols = ["n_estimators", "learning_rate", "hF1"]
    assert shifted[cols].to_dict("records") == search_runs[0][cols].to_dict("records")
