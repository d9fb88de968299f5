"""Extremely randomised trees (Geurts, Ernst & Wehenkel 2006, Machine Learning 63:3-42), compiled for tiny data sets.

Each tree is grown on all samples. At a node, ``max(1, int(sqrt(n_features)))`` features that vary in the node
are drawn at random; each gets one threshold drawn uniformly between its smallest and largest value in the node,
and the candidate with the largest weighted Gini decrease that leaves ``min_samples_leaf`` samples on both sides
is kept. A node becomes a leaf when it is pure, at ``max_depth``, when it has fewer than ``2 * min_samples_leaf``
samples, or when no drawn candidate is valid. A leaf stores its weighted class fractions; the forest averages them.
These are the rules of scikit-learn's ``ExtraTreesClassifier`` defaults (``max_features='sqrt'``, no bootstrap).

On the 113 isotope samples a leave-one-out evaluation refits the forest hundreds of times (three levels, a fold
each): with scikit-learn a tree costs about 2 ms, mostly Python overhead; compiled, under 0.1 ms.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder

_LEAF = -1


@njit(cache=True)
def _gini(counts: np.ndarray, total: float) -> float:
    if total <= 0.0:
        return 0.0
    purity = 0.0
    for count in counts:
        share = count / total
        purity += share * share
    return 1.0 - purity


@njit(cache=True)
def _grow_forest(X, codes, weights, n_classes, n_trees, max_depth, min_samples_leaf, rng):
    n, d = X.shape
    n_tries = max(1, int(np.sqrt(d)))
    capacity = 2 * n - 1
    feature = np.full((n_trees, capacity), _LEAF, dtype=np.int64)
    threshold = np.zeros((n_trees, capacity))
    left = np.zeros((n_trees, capacity), dtype=np.int64)
    right = np.zeros((n_trees, capacity), dtype=np.int64)
    value = np.zeros((n_trees, capacity, n_classes))
    order = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    features = np.arange(d)
    # Class weight sums of the node and of a candidate's left side, reused at every node.
    counts = np.empty(n_classes)
    left_counts = np.empty(n_classes)
    # Pending nodes: (node id, first sample, end sample, depth).
    stack = np.empty((capacity, 4), dtype=np.int64)
    for tree in range(n_trees):
        for i in range(n):
            order[i] = i
        stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, 0, n, 0
        top, n_nodes = 1, 1
        while top > 0:
            top -= 1
            node, start, end, depth = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
            counts[:] = 0.0
            for i in range(start, end):
                counts[codes[order[i]]] += weights[order[i]]
            total = counts.sum()
            if total > 0:
                value[tree, node] = counts / total
            parent_gini = _gini(counts, total)
            if parent_gini <= 1e-12 or depth >= max_depth or end - start < 2 * min_samples_leaf:
                continue
            best_gain, best_feature, best_threshold = -1.0, -1, 0.0
            for i in range(d - 1, 0, -1):  # Fisher-Yates shuffle of the feature order
                j = rng.integers(0, i + 1)
                features[i], features[j] = features[j], features[i]
            tried = 0
            for f in features:
                if tried >= n_tries:
                    break
                low, high = np.inf, -np.inf
                for i in range(start, end):
                    v = X[order[i], f]
                    low, high = min(low, v), max(high, v)
                if high <= low:
                    continue  # constant in this node: drawn again, as in scikit-learn
                tried += 1
                cut = low + rng.random() * (high - low)
                if cut >= high:
                    cut = low
                n_left = 0
                left_counts[:] = 0.0
                for i in range(start, end):
                    if X[order[i], f] <= cut:
                        n_left += 1
                        left_counts[codes[order[i]]] += weights[order[i]]
                if n_left < min_samples_leaf or end - start - n_left < min_samples_leaf:
                    continue
                left_total = left_counts.sum()
                right_counts = counts - left_counts
                right_total = total - left_total
                gain = (
                    parent_gini
                    - (left_total * _gini(left_counts, left_total) + right_total * _gini(right_counts, right_total))
                    / total
                )
                if gain > best_gain:
                    best_gain, best_feature, best_threshold = gain, f, cut
            if best_feature < 0:
                continue
            lo, hi = start, end
            for i in range(start, end):
                if X[order[i], best_feature] <= best_threshold:
                    scratch[lo] = order[i]
                    lo += 1
                else:
                    hi -= 1
                    scratch[hi] = order[i]
            for i in range(start, end):
                order[i] = scratch[i]
            feature[tree, node], threshold[tree, node] = best_feature, best_threshold
            left[tree, node], right[tree, node] = n_nodes, n_nodes + 1
            for child, (first, last) in enumerate(((start, lo), (lo, end))):
                stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = n_nodes + child, first, last, depth + 1
                top += 1
            n_nodes += 2
    return feature, threshold, left, right, value


@njit(cache=True)
def _forest_proba(X, feature, threshold, left, right, value):
    n_trees, _, n_classes = value.shape
    proba = np.zeros((X.shape[0], n_classes))
    for i in range(X.shape[0]):
        for tree in range(n_trees):
            node = 0
            while feature[tree, node] != _LEAF:
                below = X[i, feature[tree, node]] <= threshold[tree, node]
                node = left[tree, node] if below else right[tree, node]
            proba[i] += value[tree, node]
    return proba / n_trees


class ExtraTreesClassifier(ClassifierMixin, BaseEstimator):
    """Forest of extremely randomised trees with scikit-learn's interface (``fit(X, y, sample_weight)``)."""

    def __init__(
        self, n_estimators: int = 100, max_depth: int | None = None, min_samples_leaf: int = 1, random_state: int = 0
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ExtraTreesClassifier:
        X = np.ascontiguousarray(X, dtype=np.float64)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y).astype(np.int64)
        weights = np.ones(len(codes)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        max_depth = np.iinfo(np.int64).max if self.max_depth is None else int(self.max_depth)
        self.trees_ = _grow_forest(
            X,
            codes,
            weights,
            len(self.classes_),
            int(self.n_estimators),
            max_depth,
            int(self.min_samples_leaf),
            np.random.default_rng(self.random_state),
        )
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return _forest_proba(np.ascontiguousarray(X, dtype=np.float64), *self.trees_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
