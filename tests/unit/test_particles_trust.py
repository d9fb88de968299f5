"""Calibration, prior-shift corrected abundances and the novelty score of the particles study, on simulated
problems whose answers are known: Gaussian classes whose exact posteriors are a calibrated classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from fingerprintml.particles.trust import (
    NoveltyDetector,
    TemperatureScaling,
    TrustSettings,
    abundance_table,
    calibrate_runs,
    saerens_em,
    sample_abundances,
)

# Three overlapping unit-variance classes on a line: about a quarter of the particles fall nearer another class.
CENTRES = np.array([0.0, 1.5, 3.0])
CLASSES = ["a", "b", "c"]


def draw(prior: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` particles of classes drawn with ``prior``: true labels and the exact posteriors under a uniform prior
    (the calibrated classifier a class-balanced training set gives)."""
    labels = rng.choice(len(prior), size=n, p=prior)
    x = CENTRES[labels] + rng.standard_normal(n)
    density = norm.pdf(x[:, None], CENTRES[None, :])
    return labels, density / density.sum(axis=1, keepdims=True)


def test_em_recovers_a_dirichlet_shifted_prior_that_argmax_counts_miss():
    rng = np.random.default_rng(4)
    uniform = np.full(3, 1 / 3)
    raw_errors, em_errors, covered = [], [], 0
    for trial in range(10):
        target = rng.dirichlet(np.full(3, 0.7))
        labels, posteriors = draw(target, 2000, rng)
        truth = np.bincount(labels, minlength=3) / len(labels)
        em = saerens_em(posteriors, uniform)
        raw = np.bincount(posteriors.argmax(axis=1), minlength=3) / len(labels)
        assert em.sum() == pytest.approx(1.0)
        raw_errors.append(np.abs(raw - truth).max())
        em_errors.append(np.abs(em - truth).max())
        table = abundance_table(
            posteriors, np.full(len(labels), f"s{trial}"), CLASSES, uniform, TrustSettings(bootstrap=100), trial, labels
        )
        assert table["em_fraction"].to_numpy() == pytest.approx(em)
        assert table["true_fraction"].to_numpy() == pytest.approx(truth)
        covered += int(
            ((table["ci_low"] <= table["true_fraction"]) & (table["true_fraction"] <= table["ci_high"])).sum()
        )
    # Argmax counts are pulled towards the uniform training prior; the EM is not.
    assert np.mean(em_errors) < 0.04 < np.mean(raw_errors)
    assert np.mean(em_errors) < np.mean(raw_errors) / 2
    # The 95 % intervals hold the true fraction of most of the 30 class-sample pairs.
    assert covered >= 25


def test_em_on_the_training_prior_stays_there_and_bootstrap_weights_are_resamples():
    rng = np.random.default_rng(5)
    uniform = np.full(3, 1 / 3)
    labels, posteriors = draw(uniform, 3000, rng)
    assert saerens_em(posteriors, uniform) == pytest.approx(uniform, abs=0.03)
    # Integer weights are the same as repeating particles.
    weights = rng.integers(0, 3, size=(2, len(labels)))
    batched = saerens_em(posteriors, uniform, weights)
    for row, w in zip(batched, weights, strict=True):
        assert row == pytest.approx(saerens_em(np.repeat(posteriors, w, axis=0), uniform), abs=1e-6)
    with pytest.raises(ValueError, match="positive source prior"):
        saerens_em(posteriors, np.array([0.5, 0.5, 0.0]))


def test_temperature_scaling_undoes_a_known_sharpening():
    rng = np.random.default_rng(6)
    labels, posteriors = draw(np.full(3, 1 / 3), 5000, rng)
    # p**3 renormalised is softmax(3 log p): a temperature of 3 restores the calibrated posteriors.
    sharp = posteriors**3 / (posteriors**3).sum(axis=1, keepdims=True)
    scaling = TemperatureScaling().fit(sharp, labels)
    assert scaling.temperature_ == pytest.approx(3.0, rel=0.1)
    assert scaling.predict_proba(sharp) == pytest.approx(posteriors, abs=0.03)


def test_bias_corrected_scaling_learns_the_validation_prior():
    rng = np.random.default_rng(7)
    prior = np.array([0.6, 0.3, 0.1])
    labels, posteriors = draw(prior, 20_000, rng)
    scaling = TemperatureScaling(bias=True).fit(posteriors, labels)
    # Posteriors under a uniform prior need the log prior ratio as biases (relative to the first class).
    assert scaling.temperature_ == pytest.approx(1.0, abs=0.05)
    assert scaling.params_[1:] == pytest.approx(np.log(prior[1:] / prior[0]), abs=0.1)


def frame(labels: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [f"img_{i}.png" for i in range(len(labels))],
            "class": [CLASSES[i] for i in labels],
            "prediction": [CLASSES[i] for i in p.argmax(axis=1)],
            **{f"p_{c}": p[:, j] for j, c in enumerate(CLASSES)},
        }
    )


def test_calibration_of_runs_lowers_the_ece_of_an_over_confident_run():
    rng = np.random.default_rng(8)
    tables = []
    for n in (3000, 3000):
        labels, p = draw(np.full(3, 1 / 3), n, rng)
        tables.append(frame(labels, p**4 / (p**4).sum(axis=1, keepdims=True)))
    calibration, bins = calibrate_runs(["sharp"], [tables[0]], [tables[1]], 10)
    row = calibration.iloc[0]
    assert row["temperature"] == pytest.approx(4.0, rel=0.15)
    assert row["ece_after"] < row["ece_before"] / 3 and row["nll_after"] < row["nll_before"]
    assert set(bins["stage"]) == {"before", "after"} and bins.groupby("stage")["count"].sum().eq(3000).all()


def test_sample_abundances_correct_a_shifted_session_from_its_validation_calibration():
    rng = np.random.default_rng(9)
    val_labels, val_p = draw(np.full(3, 1 / 3), 3000, rng)
    # Two sessions of different composition, classified by the same over-confident model.
    parts = [draw(np.array(prior), 1500, rng) for prior in ([0.8, 0.15, 0.05], [0.1, 0.2, 0.7])]
    labels = np.concatenate([lab for lab, _ in parts])
    p = np.concatenate([q for _, q in parts]) ** 2
    p /= p.sum(axis=1, keepdims=True)
    sessions = pd.Series(np.repeat(["s1", "s2"], 1500))
    table = sample_abundances(
        frame(labels, p),
        frame(val_labels, val_p**2 / (val_p**2).sum(axis=1, keepdims=True)),
        sessions,
        TrustSettings(bootstrap=100),
        0,
        labelled=True,
    )
    assert table.groupby("sample")["em_fraction"].sum().to_numpy() == pytest.approx(1.0)
    error = lambda column: (table[column] - table["true_fraction"]).abs().max()  # noqa: E731
    assert error("em_fraction") < 0.05 < error("raw_fraction")
    assert (table["ci_low"] <= table["em_fraction"]).all() and (table["em_fraction"] <= table["ci_high"]).all()


def test_abundance_intervals_hold_the_uncertainty_of_a_small_calibration_set():
    rng = np.random.default_rng(11)
    val_labels, val_p = draw(np.full(3, 1 / 3), 90, rng)
    labels, p = draw(np.array([0.6, 0.3, 0.1]), 2000, rng)
    width = {}
    for draws in (0, 50):
        table = sample_abundances(
            frame(labels, p),
            frame(val_labels, val_p),
            pd.Series(np.repeat("s", 2000)),
            TrustSettings(bootstrap=200, calibration_draws=draws),
            0,
            labelled=True,
        )
        width[draws] = (table["ci_high"] - table["ci_low"]).mean()
    # 90 calibration particles fix the calibration less well than 2,000 particles fix the sample's composition.
    assert width[50] > 1.5 * width[0]


def test_a_held_out_class_is_flagged_more_than_the_known_classes():
    rng = np.random.default_rng(10)
    d = 16
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    centres = rng.standard_normal((4, d)) * 2.5

    def embed(labels: np.ndarray) -> np.ndarray:
        return centres[labels] + rng.standard_normal((len(labels), d)) @ mixing

    train = rng.integers(0, 3, 3000)
    detector = NoveltyDetector.fit(embed(train), train, embed(rng.integers(0, 3, 1000)), 0.99, 3)
    known = detector.flag(pd.DataFrame(index=range(2000)), embed(rng.integers(0, 3, 2000)))["novel"].mean()
    novel = detector.flag(pd.DataFrame(index=range(500)), embed(np.full(500, 3)))["novel"].mean()
    assert known < 0.03 and novel > 0.5
    with pytest.raises(ValueError, match="every class"):
        NoveltyDetector.fit(embed(train), np.where(train == 2, 1, train), embed(train), 0.99, 3)
