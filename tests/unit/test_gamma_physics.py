"""Simulator physics, the sigma method and the activity estimate against the simulated truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fingerprintml.gamma.activity import LineFitter, combine, decay_correct
from fingerprintml.gamma.detector import efficiency
from fingerprintml.gamma.library import read_lines, source_lines
from fingerprintml.gamma.plan import detector_block
from fingerprintml.gamma.preprocess import rebin
from fingerprintml.gamma.sigma import line_windows, reference, total_score, window_score
from fingerprintml.gamma.simulate import build_model, expected_counts, plan
from fingerprintml.gamma.spectrum import Spectrum

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
# The line fits model no coincidence summing: these tests check the fits against spectra without it.
SIMULATOR = {**CONFIG["datasets"]["demo"]["simulator"], "coincidence_summing": False}
DETECTOR = detector_block(CONFIG)
NUCLIDES = CONFIG["nuclides"]
BACKGROUND = {**SIMULATOR["background"]["activity_bq"], "continuum": 1.0}


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return read_lines(REPO / CONFIG["lines"])


@pytest.fixture(scope="module")
def model(lines: pd.DataFrame):
    return build_model(lines, NUCLIDES, DETECTOR, SIMULATOR)


def binned(model, activities: dict[str, float], distance: float, live: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    mean = expected_counts(model, activities, distance, live, BACKGROUND)
    spectra = [Spectrum(rng.poisson(mean), live, live, distance, model.calibration) for _ in range(n)]
    return rebin(spectra, CONFIG["preprocess"]["cap_kev"])


def test_library_holds_the_issue_nuclides_with_their_main_lines(lines: pd.DataFrame) -> None:
    main = lines.loc[lines["activity_line"]].groupby("nuclide")["energy_kev"].apply(list)
    assert 661.657 in main["Cs-137"] and 59.5409 in main["Am-241"] and 1274.537 in main["Na-22"]
    assert {"K-40", "U-238", "Th-232"} <= set(lines["nuclide"])
    assert lines.query("nuclide == 'Na-22' and kind == 'annihilation'")["energy_kev"].item() == 511.0


def test_peak_counts_follow_inverse_square_and_live_time(model) -> None:
    # Twice the distance and four times the live time: the same source counts.
    near = expected_counts(model, {"Cs-137": 1e5}, 10.0, 100, BACKGROUND) - expected_counts(
        model, {}, 10.0, 100, BACKGROUND
    )
    far = expected_counts(model, {"Cs-137": 1e5}, 20.0, 400, BACKGROUND) - expected_counts(
        model, {}, 20.0, 400, BACKGROUND
    )
    energies = 1.31787 * np.arange(len(near)) + 0.12514
    in_peak = (energies > 640) & (energies < 684)
    assert far[in_peak].sum() == pytest.approx(near[in_peak].sum(), rel=1e-9)
    # Full-energy peak: 1e5 Bq x 0.8499 x efficiency x 100 s, nearly all of it within +- 2 FWHM.
    peak = 1e5 * 0.8499 * efficiency(661.657, DETECTOR["efficiency"]) * 100
    assert near[in_peak].sum() == pytest.approx(peak, rel=0.15)
    assert near[in_peak].sum() > peak


def test_plan_is_balanced_over_combinations_distances_and_times() -> None:
    table = plan(NUCLIDES, SIMULATOR, "train")
    sources = table[table["nuclides"] != ""]
    assert sources.groupby("nuclides").size().nunique() == 1
    assert sources.groupby(["distance_cm", "live_time_s"]).size().nunique() == 1
    assert (table["nuclides"] == "").sum() == SIMULATOR["background_spectra"]["train"]


def test_sigma_method_flags_sources_and_not_background(model, lines: pd.DataFrame) -> None:
    background = binned(model, {}, 10.0, 300, 40, seed=1)
    windows = line_windows(source_lines(lines, NUCLIDES), DETECTOR["resolution"], 1500, 1.0)
    ref = reference(background.counts, background.live_time, windows)
    fresh = binned(model, {}, 10.0, 300, 40, seed=2)
    assert (total_score(fresh.counts, fresh.live_time, ref) < 3).mean() > 0.95
    assert (window_score(fresh.counts, fresh.live_time, ref) < 5).mean() > 0.95
    weak = binned(model, {"Am-241": 3e4}, 40.0, 60, 10, seed=3)
    assert (window_score(weak.counts, weak.live_time, ref) > 5).all()
    # Hand case: a rate 10 % above a 40 counts/s reference over 100 s, no extra spread: z = 4 / sqrt(40/100).
    hand = reference(np.array([[4000.0], [4000.0]]), np.array([100.0, 100.0]), np.ones((1, 1)))
    assert total_score(np.array([[4400.0]]), np.array([100.0]), hand)[0] == pytest.approx(4 / np.sqrt(0.4))


def test_activity_of_a_mixture_matches_the_simulated_truth(model, lines: pd.DataFrame) -> None:
    truth = {"Cs-137": 6e4, "Co-60": 9e4, "Am-241": 5e4}
    background = binned(model, {}, 20.0, 600, 30, seed=4).rates.mean(axis=0)
    spectrum = binned(model, truth, 20.0, 600, 1, seed=5)
    fitter = LineFitter(source_lines(lines, NUCLIDES), DETECTOR, 1500, (1.31787, 0.12514), 2.5, 1)
    fitted = fitter.fit(spectrum.counts[0], 600.0, 20.0, background, list(truth))
    assert set(fitted["nuclide"]) == set(truth)
    assert (fitted["net_counts"] > 1000).all()
    relative = fitted["activity_bq"] / fitted["nuclide"].map(truth) - 1
    assert (relative.abs() < 0.05).all(), fitted
    pulls = relative * fitted["activity_bq"] / fitted["activity_sd_bq"]
    assert (pulls.abs() < 5).all()
    combined = combine(fitted.assign(file="x")).set_index("nuclide")
    assert combined.loc["Co-60", "activity_bq"] == pytest.approx(9e4, rel=0.03)
    assert combined.loc["Co-60", "activity_sd_bq"] < fitted.query("nuclide == 'Co-60'")["activity_sd_bq"].min()


def test_decay_correction_back_to_the_reference_date(lines: pd.DataFrame) -> None:
    table = pd.DataFrame({"nuclide": ["Co-60"], "activity_bq": [1000.0], "activity_sd_bq": [10.0]})
    # One Co-60 half-life (1925.28 d) after the reference date the source had half its reference activity.
    corrected = decay_correct(table, lines, pd.Series(["2029-04-09"]), "2024-01-01")
    days = (pd.Timestamp("2029-04-09") - pd.Timestamp("2024-01-01")).days
    assert corrected["activity_bq"].item() == pytest.approx(1000.0 * 2 ** (days / 1925.28))
    assert corrected["activity_sd_bq"].item() == pytest.approx(10.0 * 2 ** (days / 1925.28))
