"""The compiled extremely randomised trees: same accuracy as scikit-learn's, its growth rules, weights, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier as ScikitExtraTrees
from sklearn.model_selection import StratifiedKFold

from fingerprintml.isotopes.data import leaf_names
from fingerprintml.isotopes.extra_trees import ExtraTreesClassifier


def leaf_of(trees, x: np.ndarray) -> list[tuple[int, int]]:
    """Per tree, the leaf that sample ``x`` reaches and its depth."""
    feature, threshold, left, right, _ = trees
    out = []
    for tree in range(feature.shape[0]):
        node, depth = 0, 0
        while feature[tree, node] >= 0:
            node = left[tree, node] if x[feature[tree, node]] <= threshold[tree, node] else right[tree, node]
            depth += 1
        out.append((node, depth))
    return out


def test_cross_validated_accuracy_matches_scikit_learn(train_xy):
    """Same algorithm, different random streams: leaf accuracy on the NanoTracer set agrees over seeds and folds."""
    X, Y = train_xy
    leaves = leaf_names(Y)
    settings = [(None, 1), (6, 1), (8, 3)]
    for max_depth, min_samples_leaf in settings:
        ours, theirs = [], []
        for seed in range(4):
            folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, leaves)
            for train, test in folds:
                kwargs = {"n_estimators": 100, "max_depth": max_depth, "min_samples_leaf": min_samples_leaf}
                ours.append(
                    ExtraTreesClassifier(**kwargs, random_state=seed)
                    .fit(X[train], leaves[train])
                    .score(X[test], leaves[test])
                )
                reference = ScikitExtraTrees(**kwargs, random_state=seed).fit(X[train], leaves[train])
                theirs.append(reference.score(X[test], leaves[test]))
        assert np.mean(ours) == pytest.approx(np.mean(theirs), abs=0.03), (max_depth, min_samples_leaf)


@pytest.mark.parametrize(("max_depth", "min_samples_leaf"), [(3, 1), (None, 4)])
def test_trees_respect_depth_and_leaf_size(train_xy, max_depth, min_samples_leaf):
    X, Y = train_xy
    forest = ExtraTreesClassifier(20, max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=1)
    forest.fit(X, leaf_names(Y))
    reached = np.array([leaf_of(forest.trees_, x) for x in X])  # (samples, trees, [leaf, depth])
    for tree in range(20):
        _, sizes = np.unique(reached[:, tree, 0], return_counts=True)
        assert sizes.min() >= min_samples_leaf
        assert reached[:, tree, 1].max() <= (max_depth or len(X))
    if max_depth is None:
        # Grown until pure or too small to split: some trees reach beyond depth 3.
        assert reached[:, :, 1].max() > 3


def test_fully_grown_forest_fits_the_training_set(train_xy):
    X, Y = train_xy
    leaves = leaf_names(Y)
    forest = ExtraTreesClassifier(50, random_state=0).fit(X, leaves)
    proba = forest.predict_proba(X)
    assert proba.shape == (len(X), len(forest.classes_))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert forest.score(X, leaves) == 1.0  # no two training samples share a feature vector


def test_weight_two_is_a_duplicated_sample(train_xy):
    """Thresholds depend on the node's range and leaves on weighted counts, so weight 2 equals a copy."""
    X, Y = train_xy
    leaves = leaf_names(Y)
    weights = np.ones(len(X))
    weights[[5, 40, 90]] = 2.0
    copies = np.r_[np.arange(len(X)), [5, 40, 90]]
    weighted = ExtraTreesClassifier(30, random_state=3).fit(X, leaves, sample_weight=weights)
    duplicated = ExtraTreesClassifier(30, random_state=3).fit(X[copies], leaves[copies])
    grid = np.column_stack([np.linspace(-10, 22, 200), np.linspace(0.05, 0.9, 200)])
    assert np.allclose(weighted.predict_proba(grid), duplicated.predict_proba(grid))


def test_weights_move_the_decision(train_xy):
    X, Y = train_xy
    leaves = leaf_names(Y)
    weights = np.where(leaves == "Natural", 20.0, 1.0)
    plain = ExtraTreesClassifier(50, max_depth=3, random_state=0).fit(X, leaves)
    favoured = ExtraTreesClassifier(50, max_depth=3, random_state=0).fit(X, leaves, sample_weight=weights)
    natural = list(plain.classes_).index("Natural")
    assert (favoured.predict_proba(X)[:, natural] > plain.predict_proba(X)[:, natural]).mean() > 0.5


def test_seed_fixes_the_forest(train_xy):
    X, Y = train_xy
    leaves = leaf_names(Y)
    first, again, other = (ExtraTreesClassifier(10, random_state=s).fit(X, leaves) for s in (7, 7, 8))
    assert all(np.array_equal(a, b) for a, b in zip(first.trees_, again.trees_, strict=True))
    assert not np.array_equal(first.trees_[1], other.trees_[1])
