"""Activities in Bq, ISO 11929 limits in Bq and the efficiency calibration (fingerprintml.gamma.quantify): limits
against Currie's and ISO 11929's closed forms, the efficiency curve recovered from a physically simulated
calibration spectrum (the simulator's detector response, Poisson counts), and activities of the measured BALDR
NaI(Tl) spectra."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.gamma.detector import DetectorPreset
from fingerprintml.gamma.identify import IdentifySettings
from fingerprintml.gamma.library import read_lines, read_nuclide_library
from fingerprintml.gamma.peaks import PeakSettings, channels_of, region_limits
from fingerprintml.gamma.presets import resolve_detector
from fingerprintml.gamma.quantify import (
    EfficiencyCalibration,
    fit_efficiency,
    identify_user,
    identify_with_activities,
    iso11929_limits_bq,
)
from fingerprintml.gamma.simulate import build_model, expected_counts
from fingerprintml.gamma.spectrum import Spectrum, read_spectrum_file

REPO = Path(__file__).resolve().parents[2]
K = 1.645
# An HPGe at 0.2 keV/channel up to 1600 keV with a falling continuum and a little K-40.
SIMULATOR = {
    "channels": 8000,
    "calibration": [0.2, 0.0],
    "background": {
        "activity_bq": {"K-40": 1.0},
        "continuum": {"components": [{"amplitude": 0.05, "scale_kev": 300.0}], "threshold_kev": 15.0},
    },
}
CALIBRATION_SOURCES = {"Eu-152": 20000.0, "Cs-137": 10000.0, "Co-60": 10000.0, "Am-241": 20000.0}


@pytest.fixture(scope="module")
def library() -> pd.DataFrame:
    return read_nuclide_library(REPO / "resources" / "gamma" / "nuclide_library.csv")


@pytest.fixture(scope="module")
def hpge_model():
    lines = read_lines(REPO / "resources" / "gamma" / "lines.csv")
    return build_model(lines, list(CALIBRATION_SOURCES), resolve_detector("hpge"), SIMULATOR)


def simulated(model, activities: dict[str, float], distance: float, live: float, seed: int, name: str) -> Spectrum:
    mean = expected_counts(model, activities, distance, live, {"K-40": 20.0, "continuum": 1.0})
    counts = np.random.default_rng(seed).poisson(mean).astype(float)
    return Spectrum(counts, live, live, distance, (0.2, 0.0), name, start_time=datetime(2025, 1, 1))


@pytest.mark.parametrize("blank", [100.0, 2500.0])
def test_counts_limits_are_currie_for_a_paired_blank(blank):
    # A flat spectrum whose region (22 channels) and two side regions (11 + 11) hold the same blank counts B:
    # t = 1, Currie (1968): L_C = 2.33 sqrt(B), L_D = 2.71 + 4.65 sqrt(B) for alpha = beta = 5 %.
    edges = np.arange(0.0, 1001.0)
    counts = np.full(1000, blank / 22)
    settings = PeakSettings(roi_half_width_fwhm=2.5625, side_width_fwhm=2.75, k_alpha=K, k_beta=K)
    net, _, threshold, limit = region_limits(channels_of(counts, edges), 501.0, 4.0, settings)
    assert net == pytest.approx(0.0, abs=1e-9)
    assert threshold == pytest.approx(2.33 * np.sqrt(blank), rel=3e-3)
    assert limit == pytest.approx(2.71 + 4.65 * np.sqrt(blank), rel=3e-3)


@pytest.mark.parametrize("w_relative_sd", [0.0, 0.1, 0.3])
def test_activity_limits_are_iso11929s_closed_form(w_relative_sd):
    # ISO 11929 with k_{1-alpha} = k_{1-beta} = k and net counts y = a / w of Poisson variance:
    # a* = k w u(0), a# = (2 a* + k^2 w) / (1 - k^2 u_rel^2(w)).
    blank, w = 400.0, 0.05
    threshold_counts = K * np.sqrt(2 * blank)
    limit_counts = 2 * threshold_counts + K**2
    threshold, limit = iso11929_limits_bq(threshold_counts, limit_counts, w, w_relative_sd, K, K)
    assert threshold == pytest.approx(w * threshold_counts, rel=1e-12)
    assert limit == pytest.approx((2 * threshold + K**2 * w) / (1 - K**2 * w_relative_sd**2), rel=1e-8)


def test_no_detection_limit_where_the_calibration_is_too_uncertain():
    assert iso11929_limits_bq(40.0, 82.7, 0.05, 1 / K, K, K)[1] == np.inf


def test_efficiency_curve_recovered_from_a_simulated_calibration_spectrum(library, hpge_model):
    spectrum = simulated(hpge_model, CALIBRATION_SOURCES, 25.0, 3600.0, 1, "calibration.sps")
    # The certificate's activities a year before the measurement (2025-01-01): the fit decays them back.
    half_life = library.drop_duplicates("nuclide").set_index("nuclide")["half_life_days"]
    days = (pd.Timestamp("2025-01-01") - pd.Timestamp("2024-01-01")).days
    sources = [
        {"nuclide": n, "activity_bq": a * np.exp(np.log(2) / half_life[n] * days), "reference_date": "2024-01-01"}
        for n, a in CALIBRATION_SOURCES.items()
    ]
    calibration = EfficiencyCalibration.from_config({"sources": sources})
    curve, points = fit_efficiency(spectrum, calibration, library, IdentifySettings(), "hpge")
    truth = DetectorPreset.from_config("hpge")
    energy = np.array([60.0, 122.0, 244.0, 344.0, 662.0, 1000.0, 1332.0])
    ratio = curve.at(energy, 25.0) / truth.efficiency(energy, 25.0)
    assert np.abs(ratio - 1).max() < 0.06
    assert np.abs(curve.at(energy, 10.0) / truth.efficiency(energy) - 1).max() < 0.06  # scaled by geometry
    assert len(points) >= 12 and set(points["nuclide"]) == set(CALIBRATION_SOURCES)
    assert points["energy_kev"].min() >= calibration.min_energy_kev
    assert np.abs(points["residual"]).median() < 0.05

    query = simulated(hpge_model, {"Cs-137": 5000.0, "Co-60": 3000.0}, 10.0, 600.0, 2, "query.sps")
    tables = identify_user([query], library, IdentifySettings(), "hpge", (spectrum, calibration))  # the rule's call
    pd.testing.assert_frame_equal(tables["efficiency"], points)
    table = tables["activities"].set_index("nuclide")
    for nuclide, true in [("Cs-137", 5000.0), ("Co-60", 3000.0)]:
        row = table.loc[nuclide]
        assert row["reported"] and abs(row["activity_bq"] - true) < 3 * row["activity_bq_sd"] + 0.03 * true
        assert row["activity_bq_sd"] / row["activity_bq"] < 0.05
    absent = table.loc["Am-241"]
    assert not absent["reported"] and np.isnan(absent["activity_bq"])
    assert 0 < absent["decision_threshold_bq"] < absent["detection_limit_bq"] < 100


def test_calibration_errors_name_the_file(library, hpge_model):
    spectrum = simulated(hpge_model, {"Cs-137": 10000.0}, 25.0, 600.0, 3, "only_cs.sps")
    one = {"sources": [{"nuclide": "Cs-137", "activity_bq": 1e4, "reference_date": "2025-01-01"}]}
    with pytest.raises(ValueError, match=r"only_cs\.sps: .* lines of the calibration sources"):
        fit_efficiency(spectrum, EfficiencyCalibration.from_config(one), library, IdentifySettings(), "hpge")
    unknown = {"sources": [{"nuclide": "Xx-999", "activity_bq": 1e4, "reference_date": "2025-01-01"}]}
    with pytest.raises(ValueError, match=r"only_cs\.sps: calibration sources \['Xx-999'\]"):
        fit_efficiency(spectrum, EfficiencyCalibration.from_config(unknown), library, IdentifySettings(), "hpge")
    undated = Spectrum(spectrum.counts, 600.0, 600.0, 25.0, (0.2, 0.0), "undated.sps")
    with pytest.raises(ValueError, match=r"undated\.sps: no start time"):
        fit_efficiency(undated, EfficiencyCalibration.from_config(one), library, IdentifySettings(), "hpge")


def test_baldr_activities_agree_between_distances(mirror, tmp_path_factory, library):
    from tests.unit.test_gamma_formats import declared

    baldr = declared("gamma/baldr/", mirror, tmp_path_factory.mktemp("downloads"))
    spectra = read_spectrum_file(baldr / "measurements.h5")
    table = identify_with_activities(spectra, library, IdentifySettings(), "nai")["activities"]
    for seed, nuclide in [("Cs137", "Cs-137"), ("Co60", "Co-60"), ("Bi207", "Bi-207")]:
        rows = table[table["file"].str.contains(f"] {seed} @") & (table["nuclide"] == nuclide) & table["reported"]]
        assert len(rows) >= 3
        # One source at 25-316 cm: the nai preset's geometry gives the same activity within a factor 2.
        assert rows["activity_bq"].max() / rows["activity_bq"].min() < 2
        assert (rows["activity_bq_sd"] / rows["activity_bq"]).between(0.3, 0.5).all()  # the preset's 35 % shape
    background = table[table["file"].str.endswith("] Background")]
    assert len(background) and background["detection_limit_bq"].isna().all()  # no source distance, no Bq
    missing = table[~table["reported"] & table["detection_limit_bq"].notna()]
    assert (missing["detection_limit_bq"] > missing["decision_threshold_bq"]).all()
