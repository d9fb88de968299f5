"""Flat and hierarchical classifiers on the NanoTracer training set, node probabilities and hF1 decoding."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from xgboost import XGBClassifier

from fingerprintml.isotopes.data import LEVELS, read_labels
from fingerprintml.isotopes.metrics import hierarchical_f1, node_sets
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
# How far each learner's fit of the training set is above the majority-leaf baseline at least.
MARGIN = {"xgboost": 0.25, "svc": 0.15, "extra_trees": 0.25}
# The NanoTracer hierarchy below the root, counted by hand in y_train_hiclass.csv: node -> training samples under it.
HIERARCHY = {
    "Natural": 15,
    "Incidental": 14,
    "Engineered": 84,
    "Engineered:Mag": 55,
    "Engineered:Mgh": 29,
    "Engineered:Mag:EA": 10,
    "Engineered:Mag:EP": 24,
    "Engineered:Mag:ES": 21,
    "Engineered:Mgh:EP": 11,
    "Engineered:Mgh:ES": 18,
}
NODES = sorted(HIERARCHY)


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


def test_hierarchy_of_the_label_file_is_the_hand_counted_one(paper_files):
    """The nodes the parser finds in the label file, each with its number of samples, are the hand-counted ones."""
    paths = np.array(read_labels(paper_files["y_train"]))
    under = Counter(
        node.removeprefix("MgP.").replace(".", ":") for nodes in node_sets(paths, original=False) for node in nodes
    )
    assert dict(under) == HIERARCHY
    assert {tuple(row) for row in paths.tolist()} <= VALID_PATHS


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
    leaf, count = Counter(map(tuple, Y.tolist())).most_common(1)[0]
    assert (leaf, count) == (("Engineered", "Mag", "EP"), HIERARCHY["Engineered:Mag:EP"])
    baseline = hierarchical_f1(Y, np.tile(np.array(leaf), (len(Y), 1)), original=True)
    # By hand, the root counted: 113 predictions of 4 nodes, 84 engineered truths of 4 and 29 of 2 nodes; shared
    # nodes 4 for Mag:EP (24), 3 for the other Mag (31), 2 for Mgh (29), 1 for Natural and Incidental (29).
    shared = 4 * 24 + 3 * 31 + 2 * 29 + 1 * 29
    assert baseline == pytest.approx(2 * shared / (113 * 4 + 84 * 4 + 29 * 2))
    score = hierarchical_f1(Y, predict_paths(fitted[model, learner], X), original=True)
    assert score > baseline + MARGIN[learner], f"{model}-{learner}: {score:.3f} against the baseline {baseline:.3f}"


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
