"""Classifiers of isotope fingerprints: a flat classifier over the leaves, hiclass's three local strategies and
a selective top-down classifier.

Each model is built from a base learner (xgboost gradient boosting, or an alternative) and fitted on
(n, 3) label paths ``source, species, route`` with empty strings below shallow leaves. The selective
model has one local classifier per parent node like LCPPN, but each node has its own base learner and
hyperparameters (the learner name of its runs is ``per_node``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hiclass import LocalClassifierPerLevel, LocalClassifierPerNode, LocalClassifierPerParentNode
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier

from fingerprintml.isotopes.data import LEVELS, ROOT
from fingerprintml.isotopes.extra_trees import ExtraTreesClassifier

MODELS = ("flat", "lcpn", "lcppn", "lcpl", "selective")
LEARNERS = ("xgboost", "svc", "knn", "random_forest", "extra_trees")
SELECTIVE, PER_NODE = "selective", "per_node"
PATH_SEPARATOR = ":"


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """Let a classifier that needs labels 0..k-1 (xgboost) take any labels; a single class is predicted as such.

    With ``balanced=True`` each class is weighted inversely to its frequency among the samples this
    local classifier sees (sklearn's 'balanced' rule), so small classes such as Natural (15 of 113) count.
    """

    def __init__(self, estimator: BaseEstimator | None = None, balanced: bool = False):
        self.estimator = estimator
        self.balanced = balanced

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> LabelEncodedClassifier:
        encoder = LabelEncoder().fit(np.asarray(y))
        self.classes_ = encoder.classes_
        self.estimator_ = None
        if len(self.classes_) > 1:
            codes = encoder.transform(np.asarray(y))
            if self.balanced and sample_weight is None:
                sample_weight = compute_sample_weight("balanced", codes)
            self.estimator_ = clone(self.estimator)
            if sample_weight is None:
                self.estimator_.fit(X, codes)
            elif isinstance(self.estimator_, Pipeline):
                self.estimator_.fit(X, codes, **{f"{self.estimator_.steps[-1][0]}__sample_weight": sample_weight})
            else:
                self.estimator_.fit(X, codes, sample_weight=sample_weight)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.estimator_ is None:
            return np.ones((len(X), 1))
        return self.estimator_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FlatClassifier(ClassifierMixin, BaseEstimator):
    """One classifier over the leaf paths, ignoring the hierarchy; predicts padded (n, 3) paths."""

    def __init__(self, local_classifier: LabelEncodedClassifier | None = None):
        self.local_classifier = local_classifier

    def fit(self, X: np.ndarray, Y: np.ndarray) -> FlatClassifier:
        leaves = np.array([PATH_SEPARATOR.join(row) for row in np.asarray(Y, dtype=str)])
        self.classifier_ = clone(self.local_classifier).fit(X, leaves)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.array([leaf.split(PATH_SEPARATOR) for leaf in self.classifier_.predict(X)], dtype=str)

    def leaf_proba(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probability of each leaf path, and the (k, 3) leaf paths they belong to."""
        leaves = np.array([leaf.split(PATH_SEPARATOR) for leaf in self.classifier_.classes_], dtype=str)
        return self.classifier_.predict_proba(X), leaves


def base_learner(learner: str, params: dict[str, Any], seed: int) -> BaseEstimator:
    """The base learner ``learner`` with hyperparameters ``params``; single-threaded (folds run in parallel)."""
    if learner == "xgboost":
        # On ~100 samples the exact greedy split finder is ~8x faster than 'hist' (no quantile sketch per fit).
        return XGBClassifier(
            **params, tree_method="exact", n_jobs=1, random_state=seed, verbosity=0, eval_metric="logloss"
        )
    if learner == "svc":
        # Isotope ratios differ in spread by two orders of magnitude: the RBF kernel needs standardised axes.
        # libsvm's own Platt scaling: scikit-learn 1.9 deprecates it (a FutureWarning at fit, silenced in
        # fit_model) for CalibratedClassifierCV, which is 10x slower on ~100 samples (0.15 s against
        # 0.015 s a fit, thousands of fits per search). scikit-learn is pinned to 1.9.
        svc = SVC(**params, kernel="rbf", probability=True, random_state=seed)
        return Pipeline([("scale", StandardScaler()), ("svc", svc)])
    if learner == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(**params, weights="distance"))
    if learner == "random_forest":
        return RandomForestClassifier(**params, n_jobs=1, random_state=seed)
    if learner == "extra_trees":
        return ExtraTreesClassifier(**params, random_state=seed)
    raise ValueError(f"unknown base learner {learner!r}; choose from {LEARNERS}")


def local_classifier(learner: str, params: dict[str, Any], seed: int, balanced: bool = True) -> LabelEncodedClassifier:
    """One local classifier: the base learner, class-balanced if ``balanced`` (not knn, which takes no weights)."""
    return LabelEncodedClassifier(base_learner(learner, params, seed), balanced=balanced and learner != "knn")


def parent_nodes(Y: np.ndarray) -> list[str]:
    """The nodes with children, top-down (breadth first): ``MgP`` (the root), ``Engineered``, ``Engineered:Mag`` ..."""
    names = [ROOT]
    for depth in range(1, Y.shape[1]):
        names += sorted({PATH_SEPARATOR.join(row[:depth]) for row in Y if row[depth]})
    return names


def parent_members(Y: np.ndarray, parent: str) -> tuple[np.ndarray, int]:
    """Which samples' paths go through ``parent``, and the depth of its children in the paths."""
    if parent == ROOT:
        return np.ones(len(Y), dtype=bool), 0
    prefix = parent.split(PATH_SEPARATOR)
    return (Y[:, : len(prefix)] == np.array(prefix, dtype=str)).all(axis=1), len(prefix)


def compose_paths(children: dict[str, np.ndarray], n: int, depth: int = len(LEVELS)) -> np.ndarray:
    """Top-down paths from each parent node's predicted child for all ``n`` samples; a path stops at a node
    without an entry (a leaf, or a parent not predicted yet)."""
    paths = np.full((n, depth), "", dtype=object)
    for i in range(n):
        node, level = ROOT, 0
        while node in children and level < depth:
            child = str(children[node][i])
            paths[i, level] = child
            node = child if node == ROOT else f"{node}{PATH_SEPARATOR}{child}"
            level += 1
    return paths.astype(str)


class SelectiveTopDown(ClassifierMixin, BaseEstimator):
    """Top-down classifier with a multi-class local classifier per parent node (as LCPPN) whose base learner
    and hyperparameters are chosen for that node: the selective top-down approach (Secker et al. 2007).

    ``choices`` maps every parent node (``MgP``, ``Engineered``, ``Engineered:Mag`` ...) to
    ``{"learner": name, "params": {...}}``.
    """

    def __init__(self, choices: dict[str, dict[str, Any]] | None = None, seed: int = 0, balanced: bool = True):
        self.choices = choices
        self.seed = seed
        self.balanced = balanced

    def fit(self, X: np.ndarray, Y: np.ndarray) -> SelectiveTopDown:
        Y = np.asarray(Y, dtype=str)
        choices = self.choices or {}
        self.depth_ = Y.shape[1]
        self.classifiers_ = {}
        for parent in parent_nodes(Y):
            if parent not in choices:
                raise ValueError(f"selective model: no learner chosen for node {parent!r} (chosen: {sorted(choices)})")
            member, depth = parent_members(Y, parent)
            choice = choices[parent]
            local = local_classifier(choice["learner"], choice["params"], self.seed, self.balanced)
            self.classifiers_[parent] = local.fit(X[member], Y[member, depth])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        children = {parent: local.predict(X) for parent, local in self.classifiers_.items()}
        return compose_paths(children, len(X), self.depth_)

    def node_probabilities(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Marginal probability of every node below the root: the parent's times its local probability."""
        marginal = {ROOT: np.ones(len(X))}
        result = {}
        for parent, local in self.classifiers_.items():  # top-down, so each parent's marginal is known
            proba = local.predict_proba(X)
            for column, child in enumerate(local.classes_):
                name = str(child) if parent == ROOT else f"{parent}{PATH_SEPARATOR}{child}"
                marginal[name] = result[name] = marginal[parent] * proba[:, column]
        return result


def make_model(model: str, learner: str, params: dict[str, Any], seed: int, balanced: bool = True) -> BaseEstimator:
    """A flat, hierarchical (LCPN, LCPPN, LCPL) or selective classifier with the given base learner.

    ``balanced`` weights classes inversely to their frequency in each local classifier (not for knn,
    which takes no sample weights). For the selective model ``params`` are its per-node choices.
    """
    if model == SELECTIVE:
        return SelectiveTopDown(params, seed, balanced)
    local = local_classifier(learner, params, seed, balanced)
    if model == "flat":
        return FlatClassifier(local)
    if model == "lcpn":
        return LocalClassifierPerNode(local_classifier=local, n_jobs=1)
    if model == "lcppn":
        return LocalClassifierPerParentNode(local_classifier=local, n_jobs=1)
    if model == "lcpl":
        return LocalClassifierPerLevel(local_classifier=local, n_jobs=1)
    raise ValueError(f"unknown model {model!r}; choose from {MODELS}")


def as_paths(predicted: np.ndarray) -> np.ndarray:
    """Predictions as (n, 3) string paths, padded with empty strings."""
    out = np.full((len(predicted), len(LEVELS)), "", dtype=object)
    for i, row in enumerate(predicted):
        nodes = [row] if isinstance(row, str) else list(row)
        for depth, node in enumerate(nodes[: len(LEVELS)]):
            out[i, depth] = "" if node is None else str(node)
    return out.astype(str)


def fit_model(
    model: str, learner: str, params: dict[str, Any], seed: int, X: np.ndarray, Y: np.ndarray, *, balanced: bool = True
):
    """Fit a model on features ``X`` (n, 2) and label paths ``Y`` (n, 3)."""
    estimator = make_model(model, learner, params, seed, balanced)
    with warnings.catch_warnings():
        # hiclass warns about nodes with a single child, which it handles with a constant classifier.
        warnings.simplefilter("ignore")
        estimator.fit(X, Y)
    return estimator


def predict_paths(estimator, X: np.ndarray) -> np.ndarray:
    """Predicted (n, 3) label paths."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return as_paths(estimator.predict(X))


def _children(estimator, node: str) -> list[str]:
    return sorted(estimator.hierarchy_.successors(node))


def _public_name(estimator, node: str) -> str:
    return node.replace(estimator.separator_, PATH_SEPARATOR)


def _positive_proba(classifier, X: np.ndarray) -> np.ndarray:
    proba = classifier.predict_proba(X)
    classes = list(classifier.classes_)
    if True in classes or 1 in classes:
        return proba[:, classes.index(1)]
    return np.zeros(len(X))


def node_probabilities(estimator, X: np.ndarray) -> dict[str, np.ndarray]:
    """Marginal probability of every node of the hierarchy (``Engineered:Mag:EP``) for each sample.

    Flat: leaf probabilities summed up the tree. LCPPN: products of the parents' local probabilities.
    LCPN: each node's binary probability normalised among its siblings, times its parent's. LCPL: the
    level classifier's probabilities renormalised within each parent, times the parent's. Children's
    probabilities thus always add up to their parent's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(estimator, SelectiveTopDown):
            return estimator.node_probabilities(X)
        if isinstance(estimator, FlatClassifier):
            proba, leaves = estimator.leaf_proba(X)
            result: dict[str, np.ndarray] = {}
            for column, leaf in enumerate(leaves):
                for depth in range(len(LEVELS)):
                    if leaf[depth]:
                        name = PATH_SEPARATOR.join(leaf[: depth + 1])
                        result[name] = result.get(name, 0.0) + proba[:, column]
            return result
        level_proba = {}
        if isinstance(estimator, LocalClassifierPerLevel):
            for classifier in estimator.local_classifiers_:
                proba = classifier.predict_proba(X)
                level_proba.update({str(c): proba[:, i] for i, c in enumerate(classifier.classes_)})
        result = {}
        frontier = [(estimator.root_, np.ones(len(X)))]
        while frontier:
            parent, p_parent = frontier.pop()
            children = _children(estimator, parent)
            if not children:
                continue
            if len(children) == 1:
                local = {children[0]: np.ones(len(X))}
            elif isinstance(estimator, LocalClassifierPerParentNode):
                classifier = estimator.hierarchy_.nodes[parent]["classifier"]
                proba = classifier.predict_proba(X)
                local = {str(c): proba[:, i] for i, c in enumerate(classifier.classes_)}
            elif isinstance(estimator, LocalClassifierPerNode):
                local = {c: _positive_proba(estimator.hierarchy_.nodes[c]["classifier"], X) for c in children}
            else:
                local = {c: level_proba.get(c, np.zeros(len(X))) for c in children}
            total = sum(local.values())
            for child in children:
                share = np.divide(local[child], total, out=np.full(len(X), 1 / len(children)), where=total > 0)
                p_child = p_parent * share
                result[_public_name(estimator, child)] = p_child
                frontier.append((child, p_child))
        return result
