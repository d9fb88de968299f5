"""Classifiers: binary source detection and multilabel nuclide identification with calibrated probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.tree import DecisionTreeClassifier

METHODS = ("random_forest", "decision_tree", "logistic_regression")
SCALINGS = ("arctan", "standard", "none")
EPSILON = 1e-6


def scaler(scaling: str) -> TransformerMixin:
    """The scaling step of the models: arctan (elementwise, the original's), standard (fitted on training data)
    or none."""
    if scaling == "arctan":
        return FunctionTransformer(np.arctan)
    if scaling == "standard":
        return StandardScaler()
    if scaling == "none":
        return FunctionTransformer()
    raise ValueError(f"unknown scaling {scaling!r}; choose one of {SCALINGS}")


def classifier(method: str, settings: dict[str, Any], seed: int, threads: int) -> BaseEstimator:
    """An unfitted classifier of ``method`` with the config ``settings`` of that method."""
    if method == "random_forest":
        return RandomForestClassifier(n_estimators=settings["trees"], random_state=seed, n_jobs=threads)
    if method == "decision_tree":
        return DecisionTreeClassifier(max_depth=settings["max_depth"], random_state=seed)
    if method == "logistic_regression":
        return LogisticRegression(C=settings["C"], max_iter=5000)
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def binary_model(method: str, settings: dict[str, Any], scaling: str, seed: int, threads: int) -> Pipeline:
    """Scaling then the classifier: source peaks present (1) or not (0)."""
    return make_pipeline(scaler(scaling), classifier(method, settings, seed, threads))


def logit(p: np.ndarray, floor: float = EPSILON) -> np.ndarray:
    """log(p / (1 - p)) of probabilities kept within [``floor``, 1 - ``floor``] (finite for 0 and 1)."""
    p = np.clip(p, floor, 1 - floor)
    return np.log(p / (1 - p))


class CalibratedMultilabel(ClassifierMixin, BaseEstimator):
    """One multilabel model (random forest and decision tree natively, logistic regression one per label) fitted
    on part of the training spectra, its per-label scores Platt-calibrated (a logistic map of the score's logit)
    on the held-out ``calibration_fraction``, stratified by label combination."""

    def __init__(self, model: Pipeline | None = None, calibration_fraction: float = 0.25, seed: int = 0):
        self.model = model
        self.calibration_fraction = calibration_fraction
        self.seed = seed

    def fit(self, X: np.ndarray, Y: np.ndarray) -> CalibratedMultilabel:
        combos = np.array(["".join(map(str, row)) for row in Y])
        fit_idx, cal_idx = train_test_split(
            np.arange(len(Y)), test_size=self.calibration_fraction, random_state=self.seed, stratify=combos
        )
        self.model_ = clone(self.model).fit(X[fit_idx], Y[fit_idx])
        scores = logit(self.raw_proba(X[cal_idx]))
        self.calibrators_ = [LogisticRegression(C=1e4).fit(scores[:, [k]], Y[cal_idx, k]) for k in range(Y.shape[1])]
        self.n_labels_ = Y.shape[1]
        return self

    def raw_proba(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated probability of each label: (n, n_labels)."""
        return np.column_stack([p[:, 1] for p in self.model_.predict_proba(X)])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of each label: (n, n_labels)."""
        scores = logit(self.raw_proba(X))
        return np.column_stack([c.predict_proba(scores[:, [k]])[:, 1] for k, c in enumerate(self.calibrators_)])

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(X) >= threshold).astype(int)


def multilabel_model(
    method: str, settings: dict[str, Any], scaling: str, calibration_fraction: float, seed: int, threads: int
) -> CalibratedMultilabel:
    """The calibrated multilabel model of ``method``."""
    base = classifier(method, settings, seed, threads)
    if method == "logistic_regression":
        base = MultiOutputClassifier(base)
    return CalibratedMultilabel(make_pipeline(scaler(scaling), base), calibration_fraction, seed)
