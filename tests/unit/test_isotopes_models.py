"""Flat and hierarchical classifiers on the NanoTracer training set, node probabilities and hF1 decoding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from xgboost import XGBClassifier

from fingerprintml.isotopes.data import LEAVES, LEVELS
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.models import (
    LabelEncodedClassifier,
    base_learner,
    fit_model,
    make_model,
    node_probabilities,
    predict_paths,
)

MODEL_NAMES = ("flat", "lcpn", "lcppn", "lcpl")
PARAMS = {
    "xgboost": {"n_estimators": 20, "max_depth": 3},
    "svc": {"C": 1.0},
    "extra_trees": {"n_estimators": 50, "max_depth": 6},
}
COMBOS = list(itertools.product(MODEL_NAMES, PARAMS))
NODES = sorted({":".join(leaf[: depth + 1]) for leaf in LEAVES for depth in range(len(LEVELS)) if leaf[depth]})


def padded(node: str) -> tuple[str, ...]:
    parts = node.split(":")
    return tuple(parts + [""] * (len(LEVELS) - len(parts)))


VALID_PATHS = {padded(node) for node in NODES}


def children(node: str | None, names) -> list[str]:
    depth = 0 if node is None else node.count(":") + 1
    return [n for n in names if n.count(":") == depth and (node is None or n.rsplit(":", 1)[0] == node)]


@pytest.fixture(scope="module")
def fitted(train_xy):
    X, Y = train_xy
    return {(model, learner): fit_model(model, learner, PARAMS[learner], 0, X, Y) for model, learner in COMBOS}


def test_hierarchy_has_ten_nodes():
    assert len(NODES) == 10
    assert len(VALID_PATHS) == 10


@pytest.mark.parametrize(("model", "learner"), COMBOS)
def test_predictions_are_paths_of_the_hierarchy(fitted, train_xy, model, learner):
    X, _ = train_xy
    paths = predict_paths(fitted[model, learner], X)
    assert paths.shape == (len(X), len(LEVELS))
    invalid = {tuple(row) for row in paths.tolist()} - VALID_PATHS
    assert not invalid


@pytest.mark.parametrize(("model", "learner"), COMBOS)
def test_node_probabilities_add_up_down_the_tree(fitted, train_xy, model, learner):
    X, _ = train_xy
    proba = node_probabilities(fitted[model, learner], X)
    assert sorted(proba) == NODES
    for values in proba.values():
        assert values.shape == (len(X),)
        assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all()
    top = sum(proba[n] for n in children(None, proba))
    np.testing.assert_allclose(top, 1.0, atol=1e-6)
    for node in NODES:
        kids = children(node, proba)
        if kids:
            np.testing.assert_allclose(sum(proba[k] for k in kids), proba[node], atol=1e-6)


@pytest.mark.parametrize(("model", "learner"), COMBOS)
def test_models_beat_the_majority_baseline_on_training_data(fitted, train_xy, model, learner):
    X, Y = train_xy
    score = hierarchical_f1(Y, predict_paths(fitted[model, learner], X), original=True)
    assert score > (0.75 if learner == "xgboost" else 0.70)


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_node_probabilities_are_informative(fitted, train_xy, model):
    """The most probable source under the model is the true one for most training samples."""
    X, Y = train_xy
    proba = node_probabilities(fitted[model, "xgboost"], X)
    sources = ["Engineered", "Incidental", "Natural"]
    best = np.array(sources)[np.argmax(np.column_stack([proba[s] for s in sources]), axis=1)]
    assert (best == Y[:, 0]).mean() > 0.85


def test_label_encoded_classifier_takes_string_labels():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-5, 1, (20, 2)), rng.normal(5, 1, (20, 2))])
    y = np.array(["Natural"] * 20 + ["Engineered"] * 20)
    clf = LabelEncodedClassifier(XGBClassifier(n_estimators=10, n_jobs=1, verbosity=0)).fit(X, y)
    assert list(clf.classes_) == ["Engineered", "Natural"]
    assert (clf.predict(X) == y).mean() > 0.95
    assert clf.predict(np.array([[-5.0, -5.0], [5.0, 5.0]])).tolist() == ["Natural", "Engineered"]
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


def test_label_encoded_classifier_single_class():
    X = np.arange(10, dtype=float).reshape(5, 2)
    clf = LabelEncodedClassifier(XGBClassifier(n_estimators=5)).fit(X, np.array(["Mag"] * 5))
    assert clf.predict(X).tolist() == ["Mag"] * 5
    assert clf.predict_proba(X).shape == (5, 1)


def test_label_encoded_classifier_balanced_weights_reach_pipeline():
    """With balanced weights the minority class is found by an SVC inside a scaling pipeline."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(1.2, 1, (6, 2))])
    y = np.array(["major"] * 60 + ["minor"] * 6)
    plain = LabelEncodedClassifier(base_learner("svc", {"C": 1.0}, 0)).fit(X, y)
    balanced = LabelEncodedClassifier(base_learner("svc", {"C": 1.0}, 0), balanced=True).fit(X, y)
    minority = X[y == "minor"]
    assert (balanced.predict(minority) == "minor").sum() > (plain.predict(minority) == "minor").sum()


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown model"):
        make_model("tree", "xgboost", {}, 0)
    with pytest.raises(ValueError, match="unknown base learner"):
        base_learner("lasso", {}, 0)
