"""How far a prediction can be trusted: applicability domain, calibrated per-level probabilities, conformal
prediction sets with a path that backs off to the level the data support, and measurement uncertainty by Monte Carlo.

Everything here is fitted on the training data and its out-of-fold node probabilities (what the evaluation already
computes), never on the samples it is applied to:

- *Per-level probabilities*: the marginal probabilities of the nodes of one level (``Natural``, ``Engineered:Mag``,
  ``Engineered:Mag:EP`` ...) renormalised over that level, i.e. the probability of each node given that the sample's
  path reaches the level.
- *Calibration* of those per level by hiclass's calibrators (one-vs-rest, renormalised) fitted on the out-of-fold
  probabilities of the samples that reach the level; the expected calibration error (ECE) before and after is measured
  on out-of-fold probabilities calibrated by calibrators fitted on the other folds.
- *Conformal sets* per level by crepes (split conformal, non-conformity ``1 - p`` of the per-level probability) on
  the out-of-fold probabilities; their coverage is measured leaving each training sample out of the calibration.
- *Applicability domain* per predicted source (Natural, Incidental, Engineered): a Gaussian kernel density
  (scikit-learn) of that source's training samples, on axes scaled by their spread; the threshold is a quantile of the
  training samples' leave-one-out log densities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from crepes import ConformalClassifier
from hiclass._calibration.Calibrator import _Calibrator
from sklearn.base import BaseEstimator
from sklearn.neighbors import KernelDensity

from fingerprintml.calibration import expected_calibration_error, reliability
from fingerprintml.isotopes.data import FEATURES, LEVELS, ROOT
from fingerprintml.isotopes.models import PATH_SEPARATOR, node_probabilities, predict_paths
from fingerprintml.isotopes.search import Splits, cv_splits

# Scores a calibrator sees are kept this far from 0 and 1: trees give exact zeros, whose logarithm (beta calibration)
# makes the logistic fit crawl, and ~100 training samples support no finer probability.
PROBABILITY_FLOOR = 1e-3
# At most this many folds cross-fit the calibration (leave-one-out would fit a calibrator per sample).
CALIBRATION_FOLDS = 10
SET_SEPARATOR = "|"
EMPTY_SET = "(none)"
CALIBRATION_METHODS = ("beta", "sigmoid", "isotonic", "ivap")


@dataclass(frozen=True)
class TrustSettings:
    """Settings of the trust layer (config ``isotopes.trust``).

    Parameters
    ----------
    domain_quantile: fraction of a source's training samples (by leave-one-out density) left outside its domain.
    calibration: hiclass calibration method fitted per level (beta, sigmoid, isotonic, ivap).
    confidence: coverage the conformal sets are built for.
    ece_bins: equal-width confidence bins of the expected calibration error and the reliability diagrams.
    """

    domain_quantile: float = 0.05
    calibration: str = "sigmoid"
    confidence: float = 0.9
    ece_bins: int = 10

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrustSettings:
        settings = cls(**config)
        if settings.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"isotopes.trust.calibration {settings.calibration!r}: choose from {CALIBRATION_METHODS}")
        return settings


def level_nodes(Y: np.ndarray) -> list[list[str]]:
    """Per level, the full names of its nodes in the label paths ``Y`` (``Engineered:Mag`` at the species level)."""
    return [sorted({PATH_SEPARATOR.join(row[: depth + 1]) for row in Y if row[depth]}) for depth in range(Y.shape[1])]


def level_distribution(probabilities: Mapping[str, np.ndarray], nodes: list[str], n: int) -> np.ndarray:
    """The (n, k) per-level probabilities: the marginal probabilities of ``nodes`` renormalised over the level
    (uniform where the model gives the level no mass)."""
    columns = np.column_stack([np.asarray(probabilities.get(node, np.zeros(n)), dtype=float) for node in nodes])
    total = columns.sum(axis=1, keepdims=True)
    return np.divide(columns, total, out=np.full_like(columns, 1 / len(nodes)), where=total > 0)


def true_level_index(Y: np.ndarray, depth: int, nodes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which paths reach ``depth``, and the index in ``nodes`` of their node there (-1 where they stop above)."""
    reaches = Y[:, depth] != ""
    index = np.full(len(Y), -1)
    lookup = {node: k for k, node in enumerate(nodes)}
    for i in np.flatnonzero(reaches):
        index[i] = lookup[PATH_SEPARATOR.join(Y[i, : depth + 1])]
    return reaches, index


class _Scores(BaseEstimator):
    """Precomputed class probabilities as an estimator, so that hiclass's calibrator can wrap them."""

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.classes_ = np.arange(n_classes)

    def predict_proba(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities


class LevelCalibrator:
    """hiclass's calibrator (``method``) of one level's (n, k) probabilities, fitted on out-of-fold ones."""

    def __init__(self, method: str, n_classes: int):
        self.method = method
        self.n_classes = n_classes

    def fit(self, probabilities: np.ndarray, truth: np.ndarray) -> LevelCalibrator:
        scores = np.clip(probabilities, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        self.calibrator_ = _Calibrator(_Scores(self.n_classes), method=self.method).fit(scores, truth)
        return self

    def predict_proba(self, probabilities: np.ndarray) -> np.ndarray:
        scores = np.clip(probabilities, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        calibrated = np.clip(self.calibrator_.predict_proba(scores), 0, 1)
        total = calibrated.sum(axis=1, keepdims=True)
        return np.divide(calibrated, total, out=np.full_like(calibrated, 1 / self.n_classes), where=total > 0)


def cross_fitted_calibration(
    probabilities: np.ndarray, truth: np.ndarray, splits: Splits, method: str
) -> tuple[np.ndarray, LevelCalibrator]:
    """Calibrated out-of-fold probabilities of every row (each by a calibrator fitted on the labelled rows,
    ``truth >= 0``, outside its fold) and the calibrator fitted on all labelled rows."""
    k = probabilities.shape[1]
    labelled = truth >= 0
    calibrated = np.empty_like(probabilities)
    for train, test in splits:
        fit_rows = train[labelled[train]]
        calibrated[test] = (
            LevelCalibrator(method, k).fit(probabilities[fit_rows], truth[fit_rows]).predict_proba(probabilities[test])
        )
    return calibrated, LevelCalibrator(method, k).fit(probabilities[labelled], truth[labelled])


def conformal_sets(calibration_alphas: np.ndarray, probabilities: np.ndarray, confidence: float) -> np.ndarray:
    """(n, k) boolean conformal prediction sets from the calibration non-conformity scores (``1 - p`` of the true
    class) by crepes, without smoothing (conservative, deterministic)."""
    classifier = ConformalClassifier().fit(calibration_alphas)
    return classifier.predict_set(1 - probabilities, confidence=confidence, smoothing=False).astype(bool)


def leave_one_out_sets(alphas: np.ndarray, probabilities: np.ndarray, confidence: float) -> np.ndarray:
    """Each row's conformal set calibrated on the other rows' scores ``alphas`` (the jackknife)."""
    return np.vstack(
        [conformal_sets(np.delete(alphas, i), probabilities[i : i + 1], confidence) for i in range(len(alphas))]
    )


class ApplicabilityDomain:
    """Gaussian kernel densities of each branch's (source's) training samples on axes scaled by the branch's
    spread, with Scott's bandwidth; the score is the log density minus the branch's threshold (the
    ``quantile`` of its training samples' leave-one-out log densities), so a sample is in the domain at score >= 0."""

    def __init__(self, quantile: float):
        self.quantile = quantile

    def fit(self, X: np.ndarray, branches: np.ndarray) -> ApplicabilityDomain:
        self.members_ = {}
        self.scale_, self.threshold_ = {}, {}
        spread = X.std(axis=0, ddof=1)
        for branch in sorted(set(branches)):
            points = X[branches == branch]
            scale = points.std(axis=0, ddof=1) if len(points) > 2 else spread
            self.scale_[branch] = np.where(scale > 0, scale, spread)
            self.members_[branch] = points
            self.threshold_[branch] = float(np.quantile(self._leave_one_out(branch), self.quantile))
        return self

    def _density(self, points: np.ndarray, scale: np.ndarray) -> KernelDensity:
        return KernelDensity(bandwidth=len(points) ** (-1 / (points.shape[1] + 4))).fit(points / scale)

    def _log_density(self, branch: str, X: np.ndarray, leave_out: int | None = None) -> np.ndarray:
        points = self.members_[branch]
        if leave_out is not None:
            points = np.delete(points, leave_out, axis=0)
        return self._density(points, self.scale_[branch]).score_samples(X / self.scale_[branch])

    def _leave_one_out(self, branch: str) -> np.ndarray:
        points = self.members_[branch]
        return np.array([self._log_density(branch, points[i : i + 1], i)[0] for i in range(len(points))])

    def score(self, X: np.ndarray, branches: np.ndarray) -> np.ndarray:
        """Domain score of each row against the training samples of its (predicted) branch."""
        scores = np.full(len(X), -np.inf)
        for branch in set(branches) & set(self.members_):
            rows = branches == branch
            scores[rows] = self._log_density(branch, X[rows]) - self.threshold_[branch]
        return scores

    def training_score(self, X: np.ndarray, true_branches: np.ndarray, branches: np.ndarray) -> np.ndarray:
        """Domain scores of the training samples themselves: a sample predicted into its own branch is scored
        against that branch's other samples (leave one out), as the threshold was set."""
        scores = self.score(X, branches)
        for branch in set(branches) & set(self.members_):
            own = np.flatnonzero((true_branches == branch) & (branches == branch))
            position = np.cumsum(true_branches == branch) - 1
            for i in own:
                scores[i] = self._log_density(branch, X[i : i + 1], position[i])[0] - self.threshold_[branch]
        return scores


def format_set(members: np.ndarray, nodes: list[str]) -> str:
    """A conformal set as ``Engineered:Mag|Engineered:Mgh`` (``(none)`` when empty)."""
    chosen = [node for node, inside in zip(nodes, members, strict=True) if inside]
    return SET_SEPARATOR.join(chosen) or EMPTY_SET


def backed_off_path(predicted: np.ndarray, sets: list[list[str]]) -> list[str]:
    """Each predicted path cut above the first level whose conformal set is not exactly its predicted node
    (``MgP`` when already the source level is open)."""
    out = []
    for row, row_sets in zip(predicted, zip(*sets, strict=True), strict=True):
        kept = ROOT
        for depth, node in enumerate(row):
            name = PATH_SEPARATOR.join(row[: depth + 1])
            if not node or row_sets[depth] != name:
                break
            kept = name
        out.append(kept)
    return out


@dataclass
class TrustLayer:
    """What a fitted run needs to annotate new predictions: the domain, and per level its nodes, calibrator and
    calibration non-conformity scores."""

    settings: TrustSettings
    domain: ApplicabilityDomain
    nodes: list[list[str]]
    calibrators: list[LevelCalibrator]
    alphas: list[np.ndarray]

    def annotate(self, X: np.ndarray, predicted: np.ndarray, probabilities: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """The trust columns of predictions ``predicted`` (n, 3) with node probabilities ``probabilities`` of ``X``:
        ``domain_score``, ``in_domain``, ``cal_prob_<level>``, ``set_<level>``, ``backed_off_path``."""
        score = self.domain.score(X, predicted[:, 0])
        levels = [level_distribution(probabilities, nodes, len(X)) for nodes in self.nodes]
        calibrated = [calibrator.predict_proba(p) for calibrator, p in zip(self.calibrators, levels, strict=True)]
        sets = [
            conformal_sets(alphas, p, self.settings.confidence) for alphas, p in zip(self.alphas, levels, strict=True)
        ]
        return trust_columns(predicted, score, calibrated, sets, self.nodes)


def trust_columns(
    predicted: np.ndarray,
    domain_score: np.ndarray,
    calibrated: list[np.ndarray],
    sets: list[np.ndarray],
    nodes: list[list[str]],
) -> pd.DataFrame:
    """The trust columns from per-level calibrated probabilities and conformal sets (boolean (n, k) per level);
    a level the predicted path does not reach gets no probability and an empty set."""
    out = pd.DataFrame({"domain_score": domain_score, "in_domain": domain_score >= 0})
    named_sets = []
    for depth, level in enumerate(LEVELS):
        lookup = {node: k for k, node in enumerate(nodes[depth])}
        names = [PATH_SEPARATOR.join(row[: depth + 1]) if row[depth] else "" for row in predicted]
        out[f"cal_prob_{level}"] = [
            calibrated[depth][i, lookup[name]] if name in lookup else np.nan for i, name in enumerate(names)
        ]
        named = [format_set(sets[depth][i], nodes[depth]) if name else "" for i, name in enumerate(names)]
        out[f"set_{level}"] = named
        named_sets.append(named)
    out["backed_off_path"] = backed_off_path(predicted, named_sets)
    return out


def fit_trust(
    X: np.ndarray,
    Y: np.ndarray,
    predicted: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    splits: Splits,
    settings: TrustSettings,
    seed: int,
) -> tuple[TrustLayer, pd.DataFrame, dict[str, Any]]:
    """Fit the trust layer on training features ``X``, label paths ``Y`` and their out-of-fold predicted paths and
    node probabilities (cross-validation ``splits``; the calibration is cross-fitted on them, or on
    :data:`CALIBRATION_FOLDS` stratified folds seeded by ``seed`` where they are more).

    Returns the layer, the trust columns of the training samples themselves (each from data other than its own:
    cross-fitted calibration, leave-one-out conformal sets and domain densities), and the report: per level the ECE
    before and after calibration, the reliability bins, and the leave-one-out coverage and size of the sets.
    """
    nodes = level_nodes(Y)
    domain = ApplicabilityDomain(settings.domain_quantile).fit(X, Y[:, 0])
    calibration_splits = splits if len(splits) <= CALIBRATION_FOLDS else cv_splits(Y, CALIBRATION_FOLDS, seed)
    calibrators, alphas, calibrated, sets, report = [], [], [], [], {"levels": {}}
    for depth, level in enumerate(LEVELS):
        reaches, truth = true_level_index(Y, depth, nodes[depth])
        raw = level_distribution(probabilities, nodes[depth], len(X))
        cal, calibrator = cross_fitted_calibration(raw, truth, calibration_splits, settings.calibration)
        rows = np.flatnonzero(reaches)
        level_alphas = 1 - raw[rows, truth[rows]]
        level_sets = np.zeros_like(raw, dtype=bool)
        level_sets[rows] = leave_one_out_sets(level_alphas, raw[rows], settings.confidence)
        others = np.flatnonzero(~reaches)
        if len(others):
            level_sets[others] = conformal_sets(level_alphas, raw[others], settings.confidence)
        calibrators.append(calibrator)
        alphas.append(level_alphas)
        calibrated.append(cal)
        sets.append(level_sets)
        report["levels"][level] = _level_report(raw[rows], cal[rows], truth[rows], level_sets[rows], settings)
    layer = TrustLayer(settings, domain, nodes, calibrators, alphas)
    score = domain.training_score(X, Y[:, 0], predicted[:, 0])
    columns = trust_columns(predicted, score, calibrated, sets, nodes)
    report["domain"] = {"thresholds": domain.threshold_, "train_in_domain": float(columns["in_domain"].mean())}
    return layer, columns, report


def _level_report(
    raw: np.ndarray, calibrated: np.ndarray, truth: np.ndarray, sets: np.ndarray, settings: TrustSettings
) -> dict[str, Any]:
    stages = {}
    for stage, p in (("before", raw), ("after", calibrated)):
        top = p.argmax(axis=1)
        confidence, correct = p.max(axis=1), top == truth
        stages[stage] = {
            "ece": expected_calibration_error(confidence, correct, settings.ece_bins),
            "reliability": reliability(confidence, correct, settings.ece_bins).to_dict("records"),
        }
    size = sets.sum(axis=1)
    return {
        "n": len(truth),
        "ece_before": stages["before"]["ece"],
        "ece_after": stages["after"]["ece"],
        "reliability_before": stages["before"]["reliability"],
        "reliability_after": stages["after"]["reliability"],
        "confidence": settings.confidence,
        "coverage": float(sets[np.arange(len(truth)), truth].mean()),
        "mean_set_size": float(size.mean()),
        "singletons": float((size == 1).mean()),
    }


def monte_carlo(estimator, X: np.ndarray, sd: np.ndarray, draws: int, rng: np.random.Generator) -> pd.DataFrame:
    """Measurement uncertainty propagated through a fitted model: each row of ``X`` drawn ``draws`` times from
    independent normals with standard deviations ``sd`` (n, 2). Returns per level the probability of the nominal
    predicted node averaged over the draws (``mc_prob_<level>``) and the fraction of draws whose predicted path
    differs from the nominal one (``mc_path_change``)."""
    n = len(X)
    nominal = predict_paths(estimator, X)
    noisy = (X[None] + rng.standard_normal((draws, n, X.shape[1])) * sd[None]).reshape(draws * n, -1)
    paths = predict_paths(estimator, noisy).reshape(draws, n, -1)
    probabilities = node_probabilities(estimator, noisy)
    out = pd.DataFrame(index=range(n))
    for depth, level in enumerate(LEVELS):
        values = np.full(n, np.nan)
        for i, row in enumerate(nominal):
            if row[depth]:
                node = PATH_SEPARATOR.join(row[: depth + 1])
                values[i] = probabilities.get(node, np.zeros(draws * n)).reshape(draws, n)[:, i].mean()
        out[f"mc_prob_{level}"] = values
    out["mc_path_change"] = (paths != nominal[None]).any(axis=2).mean(axis=0)
    return out


MC_SD_COLUMNS = [f"{feature}_sd" for feature in FEATURES]
