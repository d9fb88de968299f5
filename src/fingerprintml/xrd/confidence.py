"""Confidence of the phases a whole-pattern fit reports, P(the phase is truly present): a logistic map of the
reported phase's fit evidence (log F statistic), weight fraction, its standard deviation and the network's score,
fitted on simulated mixtures of the dataset's own library whose truth is known (:mod:`fingerprintml.xrd.calibrate`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special

FEATURES = ("log_evidence", "weight_fraction", "relative_sd", "score")
# Signs the coefficients of FEATURES may take (log evidence, weight fraction, its relative sd, network score).
MONOTONE_BOUNDS = [(0.0, None), (0.0, None), (None, 0.0), (0.0, None)]
# L2 penalty on the standardised coefficients (a few hundred labelled phases support no sharper map).
L2_PENALTY = 1.0


def phase_features(
    evidence: np.ndarray, weight_fraction: np.ndarray, weight_fraction_sd: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """The (n, 4) features of :data:`FEATURES`: log of the F statistic (at least 1), the weight fraction, its sd
    relative to it (capped at 1; a missing sd counts as 1: a 99 wt% phase with a 5 wt% sd is as sure as can be, a
    0.4 wt% one with a 0.5 wt% sd is not) and the network score of the phase."""
    fraction = np.nan_to_num(np.asarray(weight_fraction, dtype=float))
    sd = np.nan_to_num(np.asarray(weight_fraction_sd, dtype=float), nan=1.0) / np.maximum(fraction, 1e-3)
    return np.column_stack(
        [
            np.log(np.maximum(np.nan_to_num(np.asarray(evidence, dtype=float), nan=1.0), 1.0)),
            fraction,
            np.minimum(sd, 1.0),
            np.asarray(score, dtype=float),
        ]
    )


@dataclass(frozen=True)
class ConfidenceMap:
    """P(present) = sigmoid(intercept + coefficients . (features - mean) / scale)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(features) - np.array(self.mean)) / np.array(self.scale)
        return scipy.special.expit(self.intercept + z @ np.array(self.coefficients))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ConfidenceMap:
        return cls(
            tuple(values["mean"]),
            tuple(values["scale"]),
            tuple(values["coefficients"]),
            float(values["intercept"]),
        )


def fit_confidence_map(features: np.ndarray, present: np.ndarray, l2: float = L2_PENALTY) -> ConfidenceMap:
    """The L2-penalised logistic regression of ``present`` (bool, n) on standardised ``features`` (n, k), with
    Platt's smoothed targets (Platt 1999), monotone in each feature (:data:`MONOTONE_BOUNDS`).

    Parameters
    ----------
    features
        Per labelled phase, the features (:func:`phase_features`).
    present
        Whether each phase is truly present.
    l2
        Penalty on the squared standardised coefficients (the intercept is free).
    """
    x = np.asarray(features, dtype=float)
    present = np.asarray(present, dtype=bool)
    if len(present) == 0:
        raise ValueError("no labelled phase to calibrate the confidence on")
    # Platt's smoothed targets: with few (or no) wrong phases among the labelled ones the map tends to the observed
    # share, (n+ + 1) / (n+ + 2), instead of to certainty.
    n_present = present.sum()
    y = np.where(present, (n_present + 1) / (n_present + 2), 1 / (len(present) - n_present + 2))
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z = np.column_stack([np.ones(len(y)), (x - mean) / scale])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ w
        value = np.sum(np.logaddexp(0, logits) - y * logits) + 0.5 * l2 * np.sum(w[1:] ** 2)
        gradient = z.T @ (scipy.special.expit(logits) - y)
        gradient[1:] += l2 * w[1:]
        return float(value), gradient

    # Monotone in each feature's physical sense (more evidence, weight and network score, less sd: more likely present),
    # so that a few labelled phases cannot give a strong phase a low confidence.
    bounds = [(None, None), *MONOTONE_BOUNDS[: z.shape[1] - 1]]
    w = scipy.optimize.minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds).x
    return ConfidenceMap(tuple(mean), tuple(scale), tuple(w[1:]), float(w[0]))
