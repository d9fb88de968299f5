"""The trust layer on simulated problems whose answers are known: ECE of a miscalibrated predictor, calibration that
lowers it, coverage of split-conformal sets, the domain flag of a far-away point, Monte Carlo near a boundary."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from fingerprintml.calibration import expected_calibration_error
from fingerprintml.isotopes.models import fit_model
from fingerprintml.isotopes.trust import (
    ApplicabilityDomain,
    LevelCalibrator,
    TrustSettings,
    backed_off_path,
    conformal_sets,
    cross_fitted_calibration,
    leave_one_out_sets,
    level_distribution,
    level_nodes,
    monte_carlo,
)

CENTRES = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])


def blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three overlapping unit-variance Gaussian classes with equal priors: features, labels and the exact
    (Bayes) class probabilities."""
    labels = rng.integers(0, len(CENTRES), n)
    X = CENTRES[labels] + rng.standard_normal((n, 2))
    density = np.column_stack([multivariate_normal(c, np.eye(2)).pdf(X) for c in CENTRES])
    return X, labels, density / density.sum(axis=1, keepdims=True)


def sharpen(p: np.ndarray, power: float) -> np.ndarray:
    """Over-confident probabilities: each raised to ``power`` > 1 and renormalised."""
    q = p**power
    return q / q.sum(axis=1, keepdims=True)


def test_ece_of_a_known_miscalibrated_predictor():
    # Always 90 % confident, right 60 % of the time: ECE 0.3.
    correct = np.r_[np.ones(600), np.zeros(400)]
    assert expected_calibration_error(np.full(1000, 0.9), correct, 10) == pytest.approx(0.3)
    # Confidence drawn uniformly, correct with exactly that probability: ECE near zero.
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.3, 1.0, 40_000)
    assert expected_calibration_error(confidence, rng.uniform(size=40_000) < confidence, 10) < 0.01
    # The Bayes posterior is calibrated, its sharpened version is not.
    _, labels, p = blobs(20_000, rng)
    bayes = expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == labels, 10)
    sharp = sharpen(p, 4)
    over = expected_calibration_error(sharp.max(axis=1), sharp.argmax(axis=1) == labels, 10)
    assert bayes < 0.015 and over > 0.08


@pytest.mark.parametrize("method", ["beta", "sigmoid"])
def test_hiclass_calibration_repairs_over_confident_probabilities(method):
    rng = np.random.default_rng(2)
    _, labels, p = blobs(600, rng)
    sharp = sharpen(p, 4)
    splits = [(np.setdiff1d(np.arange(600), test), test) for test in np.array_split(np.arange(600), 5)]
    calibrated, _ = cross_fitted_calibration(sharp, labels, splits, method)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    before = expected_calibration_error(sharp.max(axis=1), sharp.argmax(axis=1) == labels, 10)
    after = expected_calibration_error(calibrated.max(axis=1), calibrated.argmax(axis=1) == labels, 10)
    assert after < before / 2
    # On new samples too, by the calibrator fitted on all 600.
    _, new_labels, new_p = blobs(5000, rng)
    fitted = LevelCalibrator(method, 3).fit(sharp, labels).predict_proba(sharpen(new_p, 4))
    assert expected_calibration_error(fitted.max(axis=1), fitted.argmax(axis=1) == new_labels, 10) < 0.05


def test_split_conformal_sets_reach_their_coverage():
    rng = np.random.default_rng(3)
    _, cal_labels, cal_p = blobs(1000, rng)
    _, labels, p = blobs(20_000, rng)
    alphas = 1 - cal_p[np.arange(1000), cal_labels]
    for confidence in (0.8, 0.9, 0.95):
        sets = conformal_sets(alphas, p, confidence)
        coverage = sets[np.arange(len(labels)), labels].mean()
        assert confidence - 0.015 <= coverage <= confidence + 0.02, (confidence, coverage)
    # Overlapping classes need more than one class in many sets at 90 %; a point at a centre needs one.
    sets = conformal_sets(alphas, p, 0.9)
    assert 1.2 < sets.sum(axis=1).mean() < 2.5
    assert conformal_sets(alphas, np.array([[0.98, 0.01, 0.01]]), 0.9).tolist() == [[True, False, False]]
    # Leave-one-out over the calibration scores: the coverage the README reports.
    loo = leave_one_out_sets(alphas, cal_p, 0.9)
    assert 0.88 <= loo[np.arange(1000), cal_labels].mean() <= 0.92


def test_far_away_point_is_outside_the_domain():
    rng = np.random.default_rng(4)
    natural = rng.normal([-5.0, 0.18], [1.0, 0.03], (15, 2))
    engineered = rng.normal([5.0, 0.0], [3.0, 0.5], (84, 2))
    X = np.vstack([natural, engineered])
    branches = np.array(["Natural"] * 15 + ["Engineered"] * 84)
    domain = ApplicabilityDomain(0.05).fit(X, branches)
    inside = domain.score(np.array([[-5.0, 0.18], [5.0, 0.0]]), np.array(["Natural", "Engineered"]))
    assert (inside > 0).all()
    # 0.3 per mil in d56Fe is ten Natural spreads away, though near the Engineered cloud: out for Natural.
    far = domain.score(np.array([[-5.0, 0.5], [60.0, 0.0]]), np.array(["Natural", "Engineered"]))
    assert (far < 0).all()
    # The training samples themselves, each left out of its own density: about the quantile flagged.
    own = domain.training_score(X, branches, branches)
    assert 0.02 <= (own < 0).mean() <= 0.12


def test_levels_and_backed_off_paths():
    Y = np.array([["Natural", "", ""], ["Engineered", "Mag", "EP"], ["Engineered", "Mgh", "ES"]])
    assert level_nodes(Y) == [
        ["Engineered", "Natural"],
        ["Engineered:Mag", "Engineered:Mgh"],
        ["Engineered:Mag:EP", "Engineered:Mgh:ES"],
    ]
    # Species probabilities given that the path reaches the species level.
    probabilities = {"Engineered:Mag": np.array([0.3, 0.0]), "Engineered:Mgh": np.array([0.1, 0.0])}
    np.testing.assert_allclose(
        level_distribution(probabilities, ["Engineered:Mag", "Engineered:Mgh"], 2), [[0.75, 0.25], [0.5, 0.5]]
    )
    predicted = np.array([["Engineered", "Mag", "EP"], ["Engineered", "Mag", "EP"], ["Natural", "", ""]])
    sets = [
        ["Engineered", "Engineered", "Engineered|Natural"],
        ["Engineered:Mag", "Engineered:Mag|Engineered:Mgh", ""],
        ["Engineered:Mag:EP|Engineered:Mag:ES", "Engineered:Mag:EP", ""],
    ]
    assert backed_off_path(predicted, sets) == ["Engineered:Mag", "Engineered", "MgP"]


def test_monte_carlo_path_changes_near_a_boundary_only():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal([-2.0, 0.0], 0.5, (40, 2)), rng.normal([2.0, 0.0], 0.5, (40, 2))])
    Y = np.array([["Natural", "", ""]] * 40 + [["Incidental", "", ""]] * 40)
    estimator = fit_model("flat", "svc", {"C": 1.0, "gamma": 0.5}, 0, X, Y)
    points = np.array([[0.0, 0.0], [-3.0, 0.0]])
    sd = np.array([[0.5, 0.5], [0.5, 0.5]])
    mc = monte_carlo(estimator, points, sd, 400, np.random.default_rng(6))
    assert 0.3 < mc.loc[0, "mc_path_change"] < 0.7
    assert mc.loc[1, "mc_path_change"] == 0.0
    assert mc.loc[1, "mc_prob_source"] > 0.9 > mc.loc[0, "mc_prob_source"]
    # Without uncertainty nothing changes.
    still = monte_carlo(estimator, points, np.zeros((2, 2)), 50, np.random.default_rng(6))
    assert (still["mc_path_change"] == 0).all()


def test_settings_reject_an_unknown_calibrator():
    with pytest.raises(ValueError, match=r"isotopes\.trust\.calibration"):
        TrustSettings.from_config({"calibration": "temperature"})
