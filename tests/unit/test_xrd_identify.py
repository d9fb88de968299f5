"""Identification of simulated measured patterns (intensities with anomalous dispersion, Poisson counts): a minor
phase that the ranking of the whole pattern misses is proposed from what the major phase leaves unexplained (the
demo's fcc Ni + CsCl mixture), and a phase the calibrated confidence finds more likely absent than present is an
alternative, not a reported phase (the single-phase demo queries)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice

from fingerprintml.xrd.augment import clean_pattern
from fingerprintml.xrd.confidence import fit_confidence_map, phase_features
from fingerprintml.xrd.identify import IdentifySettings, identify_pattern, prepare_query
from fingerprintml.xrd.library import from_spacegroup
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.refine import FitPhase, FitSettings, Radiation, fit_pattern
from tests.unit.test_xrd_fit import CU1, simulated_mixture

GRID = Grid(10.0, 90.0, 0.1)
PREPROCESSING = Preprocessing(baseline=True, smoothness=1000.0, crop_fraction=0.0, crop_max=0.0)
STRUCTURES = {
    "Ni": from_spacegroup("Fm-3m", Lattice.cubic(3.524), ["Ni"], [[0, 0, 0]]),
    "CsCl": from_spacegroup("Pm-3m", Lattice.cubic(4.123), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    "NaCl": from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
    "Si": from_spacegroup("Fd-3m", Lattice.cubic(5.431), ["Si"], [[0, 0, 0]]),
    "CeO2": from_spacegroup("Fm-3m", Lattice.cubic(5.41), ["Ce", "O"], [[0, 0, 0], [0.25, 0.25, 0.25]]),
}
NAMES = list(STRUCTURES)


@pytest.fixture(scope="module")
def library() -> list[FitPhase]:
    return [FitPhase.from_structure(name, s, Radiation(CU1), GRID.stop) for name, s in STRUCTURES.items()]


def cosine_ranking(library: list[FitPhase]):
    """A stand-in for the network: cosine of the preprocessed pattern to each phase's clean pattern, a
    single-phase classifier as the network is."""
    clean = np.array([clean_pattern(phase.reflections, GRID, CU1, 0.2) for phase in library])
    clean /= np.linalg.norm(clean, axis=1, keepdims=True)

    def scores(patterns: np.ndarray) -> np.ndarray:
        return patterns @ clean.T / np.maximum(np.linalg.norm(patterns, axis=1, keepdims=True), 1e-12)

    return scores


def settings(candidates: int, remainder_candidates: int) -> IdentifySettings:
    return IdentifySettings(Radiation(CU1), 3, candidates, FitSettings(min_confidence=0.5), remainder_candidates)


def identify(
    counts: np.ndarray, library: list[FitPhase], candidates: int, remainder_candidates: int = 0, confidence_map=None
):
    two_theta = np.arange(15.0, 85.0, 0.04)
    return identify_pattern(
        two_theta,
        counts,
        Radiation(CU1),
        cosine_ranking(library),
        library,
        grid=GRID,
        model_wavelength=CU1,
        settings=settings(candidates, remainder_candidates),
        preprocessing=PREPROCESSING,
        confidence_map=confidence_map,
    )


def test_a_minor_phase_ranked_low_on_the_mixture_is_proposed_from_the_remainder(library: list[FitPhase]) -> None:
    two_theta = np.arange(15.0, 85.0, 0.04)
    counts = simulated_mixture(
        [STRUCTURES["Ni"], STRUCTURES["CsCl"]], [0.85, 0.15], two_theta, 0.12, np.random.default_rng(11)
    )
    query = prepare_query(two_theta, counts, GRID, CU1, CU1, PREPROCESSING)
    ranking = np.argsort(-cosine_ranking(library)(query[None])[0])
    assert NAMES[ranking[0]] == "Ni" and ranking.tolist().index(NAMES.index("CsCl")) > 0
    # The ranking's best alone as the candidate: Ni only, CsCl's peaks unexplained.
    alone = fit_pattern(two_theta, counts, library, Radiation(CU1), FitSettings(), ranking[:1].tolist())
    assert [p.name for p in alone.phases] == ["Ni"] and alone.unexplained
    # Ranked again on what Ni leaves, CsCl is proposed and fitted, both at their weight fractions.
    components, result = identify(counts, library, candidates=1, remainder_candidates=1)
    found = {NAMES[int(c.top[0])]: c.weight_fraction for c in components}
    assert found == pytest.approx({"Ni": 0.85, "CsCl": 0.15}, abs=0.03)
    assert result.unexplained == []


def test_a_phase_likely_absent_is_an_alternative_not_a_reported_phase(library: list[FitPhase]) -> None:
    # Ni with 4 wt% CsCl, fitted without and with a confidence map that gives a phase of a few wt% less than even
    # odds (as the calibration on simulated mixtures does for spurious minor phases).
    two_theta = np.arange(15.0, 85.0, 0.04)
    counts = simulated_mixture(
        [STRUCTURES["Ni"], STRUCTURES["CsCl"]], [0.96, 0.04], two_theta, 0.12, np.random.default_rng(12)
    )
    components, _ = identify(counts, library, candidates=2)
    plain = {NAMES[int(c.top[0])]: c for c in components}
    assert set(plain) == {"Ni", "CsCl"} and all(np.isnan(c.confidence) for c in components)
    # A map fitted on phases that are present when they are over 10 wt%, whatever their other features.
    rng = np.random.default_rng(0)
    fraction = rng.uniform(0.01, 0.3, 400)
    sd = rng.uniform(0.02, 0.5, 400) * fraction
    features = phase_features(rng.uniform(50, 5000, 400), fraction, sd, rng.uniform(0, 1, 400))
    confidence_map = fit_confidence_map(features, fraction > 0.1)
    minor = plain["CsCl"]
    minor_features = phase_features(minor.evidence, minor.weight_fraction, minor.weight_fraction_sd, minor.scores[0])
    assert confidence_map(minor_features)[0] < 0.5

    components, result = identify(counts, library, candidates=2, confidence_map=confidence_map)
    assert len(components) == 1
    (nickel,) = components
    assert NAMES[int(nickel.top[0])] == "Ni" and nickel.weight_fraction == 1.0 and nickel.confidence >= 0.5
    assert NAMES[int(nickel.top[1])] == "CsCl"  # listed as the first alternative
    assert [NAMES[p.index] for p, _ in result.dropped] == ["CsCl"] and result.dropped[0][0].confidence < 0.5
