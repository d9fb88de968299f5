"""The confidence of reported phases: the logistic map calibrates a miscalibrated score, the held-out ECE is
reported against taking every phase as certain, and the simulated mixtures the map is fitted on have the weight
fractions they are drawn with (Hill-Howard)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from pymatgen.core import Lattice, Structure

from fingerprintml.calibration import expected_calibration_error
from fingerprintml.xrd.calibrate import MIXTURE_STEP, calibrate, simulated_mixture
from fingerprintml.xrd.confidence import FEATURES, ConfidenceMap, fit_confidence_map, phase_features
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.refine import FitPhase, FitSettings, Radiation, fit_pattern
from fingerprintml.xrd.reflections import compute_reflections


def _phases(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of n reported phases whose truth follows P(present) = sigmoid(1.2 (log F - 5)), and an
    overconfident raw score sigmoid(4 (log F - 5)) of the same evidence."""
    log_evidence = rng.normal(5.0, 2.0, n)
    fraction = rng.uniform(0.02, 1.0, n)
    features = phase_features(np.exp(log_evidence), fraction, 0.01 * rng.uniform(0.5, 2, n), rng.normal(0.5, 0.1, n))
    present = rng.random(n) < 1 / (1 + np.exp(-1.2 * (log_evidence - 5.0)))
    raw = 1 / (1 + np.exp(-4.0 * (log_evidence - 5.0)))
    return features, present, raw


def test_a_miscalibrated_score_is_calibrated_on_simulated_data() -> None:
    rng = np.random.default_rng(7)
    features, present, _ = _phases(rng, 4000)
    confidence_map = fit_confidence_map(features, present)
    test_features, test_present, raw = _phases(rng, 4000)
    assert expected_calibration_error(raw, test_present, 10) > 0.08
    assert expected_calibration_error(confidence_map(test_features), test_present, 10) < 0.03
    # the evidence drives the map; the map survives its JSON round trip
    assert abs(confidence_map.coefficients[0]) > 5 * max(abs(c) for c in confidence_map.coefficients[2:])
    restored = ConfidenceMap.from_dict(confidence_map.to_dict())
    assert np.allclose(restored(test_features), confidence_map(test_features))
    # no wrong phase to learn from: the observed share with Platt's smoothing, (n + 1) / (n + 2), not certainty
    assert np.allclose(fit_confidence_map(features[:50], np.ones(50, bool))(test_features), 51 / 52, atol=1e-3)


def test_calibration_reports_the_held_out_ece_and_that_of_certainty() -> None:
    rng = np.random.default_rng(3)
    features, present, _ = _phases(rng, 600)
    mixtures = pd.DataFrame(features, columns=list(FEATURES)).assign(present=present, held_out=np.arange(600) % 2 == 0)
    _, summary, table = calibrate(mixtures, 10)
    assert summary["held_out_phases"] == 300 and summary["fitted_phases"] == 300
    assert summary["ece_certain"] == pytest.approx(1 - present[::2].mean())
    assert summary["ece"] < summary["ece_certain"] / 2
    assert table["count"].sum() == 300
    with pytest.raises(ValueError, match="held-out"):
        calibrate(mixtures.assign(held_out=False), 10)


def test_simulated_mixture_has_its_hill_howard_weight_fractions(repo_root) -> None:
    augmentation = yaml.safe_load((repo_root / "config.yaml").read_text())["xrd"]["augmentation"]
    for effect in ["preferred_orientation", "peak_scaling", "debye_waller"]:
        augmentation[effect]["enabled"] = False
    nacl = Structure(Lattice.cubic(5.64), ["Na", "Cl"] * 4, [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0, 0, 0.5],
                     [0.5, 0, 0.5], [0, 0.5, 0], [0, 0.5, 0.5], [0.5, 0, 0]])  # fmt: skip
    silicon = Structure(Lattice.cubic(5.431), ["Si"] * 2, [[0, 0, 0], [0.25, 0.25, 0.25]])
    wavelength = 1.540598
    library = [compute_reflections(s, wavelength, 100.0) for s in (nacl, silicon)]
    masses = np.array([nacl.composition.weight, silicon.composition.weight])
    grid = Grid(15.0, 100.0, MIXTURE_STEP)
    counts = simulated_mixture(
        library, masses, np.array([0, 1]), np.array([0.3, 0.7]), grid, wavelength, augmentation,
        np.random.default_rng(5),
    )  # fmt: skip
    radiation = Radiation(wavelength, augmentation["kalpha2"]["wavelength"], augmentation["kalpha2"]["ratio"])
    phases = [FitPhase(f"p{k}", library[k].allowed, float(masses[k])) for k in range(2)]
    result = fit_pattern(grid.two_theta, counts, phases, radiation, FitSettings())
    fractions = {phase.index: phase.weight_fraction for phase in result.phases}
    assert fractions.keys() == {0, 1}
    assert fractions[0] == pytest.approx(0.3, abs=0.05)
