"""The .sps format byte by byte, corrupt files reported and kept, and other formats through becquerel (SPE)."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fingerprintml.gamma.activity import LineFitter
from fingerprintml.gamma.classify import activity_tables, predictions_table, read_split
from fingerprintml.gamma.detector import efficiency
from fingerprintml.gamma.features import average
from fingerprintml.gamma.library import read_lines, source_lines
from fingerprintml.gamma.models import multilabel_model
from fingerprintml.gamma.plan import detector_block
from fingerprintml.gamma.preprocess import PreprocessSettings, rebin, rebin_matrix
from fingerprintml.gamma.simulate import build_model, expected_counts
from fingerprintml.gamma.spectrum import (
    XGD_CALIBRATION,
    Spectrum,
    SpectrumError,
    read_spectra,
    read_sps,
    read_with_becquerel,
    write_sps,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
# The line fits model no coincidence summing: these tests check the fits against spectra without it.
SIMULATOR = {**CONFIG["datasets"]["demo"]["simulator"], "coincidence_summing": False}
DETECTOR = detector_block(CONFIG)


def spectrum(n: int = 64, seed: int = 1) -> Spectrum:
    counts = np.random.default_rng(seed).poisson(50, n)
    return Spectrum(counts, live_time=300, real_time=306, distance_cm=25.5, calibration=XGD_CALIBRATION, name="a.sps")


def test_sps_round_trip_and_byte_layout(tmp_path: Path) -> None:
    original = spectrum()
    path = tmp_path / "a.sps"
    write_sps(original, path)
    data = path.read_bytes()
    assert len(data) == 1024 + 4 * 64
    assert struct.unpack_from("<h", data, 0)[0] == 64
    assert struct.unpack_from("<i", data, 301)[0] == 300
    assert struct.unpack_from("<i", data, 305)[0] == 306
    assert struct.unpack_from("<f", data, 342)[0] == pytest.approx(25.5)
    assert struct.unpack_from("<2f", data, 440) == pytest.approx(XGD_CALIBRATION, rel=1e-6)
    assert np.array_equal(np.frombuffer(data, "<i4", offset=1024), original.counts)
    back = read_sps(path)
    assert np.array_equal(back.counts, original.counts)
    assert (back.live_time, back.real_time, back.distance_cm) == (300.0, 306.0, pytest.approx(25.5))
    assert back.calibration == pytest.approx(XGD_CALIBRATION, rel=1e-6)


def corrupt(tmp_path: Path) -> dict[str, Path]:
    """A good file and three broken ones: truncated, zero calibration, channel count beyond the file."""
    good = tmp_path / "good.sps"
    write_sps(spectrum(), good)
    data = bytearray(good.read_bytes())
    files = {"good": good}
    files["truncated"] = tmp_path / "truncated.sps"
    files["truncated"].write_bytes(bytes(data[:700]))
    zero = bytearray(data)
    struct.pack_into("<2f", zero, 440, 0.0, 0.0)
    files["zero_calibration"] = tmp_path / "zero_calibration.sps"
    files["zero_calibration"].write_bytes(bytes(zero))
    too_many = bytearray(data)
    struct.pack_into("<h", too_many, 0, 65)
    files["channels"] = tmp_path / "channels.sps"
    files["channels"].write_bytes(bytes(too_many))
    return files


def test_corrupt_files_raise_errors_naming_the_file(tmp_path: Path) -> None:
    files = corrupt(tmp_path)
    for key, message in [
        ("truncated", "truncated"),
        ("zero_calibration", "calibration"),
        ("channels", "channel count"),
    ]:
        with pytest.raises(SpectrumError, match=message) as error:
            read_sps(files[key])
        assert str(files[key]) in str(error.value)


def test_corrupt_files_are_listed_skipped_or_defaulted_and_never_deleted(tmp_path: Path) -> None:
    files = corrupt(tmp_path)
    paths = sorted(files.values())
    spectra, rejects = read_spectra(paths, "skip", XGD_CALIBRATION)
    assert [s.name for s in spectra] == ["good.sps"]
    assert sorted(Path(f).name for f in rejects["file"]) == ["channels.sps", "truncated.sps", "zero_calibration.sps"]
    spectra, rejects = read_spectra(paths, "default", XGD_CALIBRATION)
    assert sorted(s.name for s in spectra) == ["good.sps", "zero_calibration.sps"]
    defaulted = next(s for s in spectra if s.name == "zero_calibration.sps")
    assert defaulted.calibration == XGD_CALIBRATION and "default" in defaulted.notes[0]
    assert len(rejects) == 2
    assert all(p.is_file() for p in paths)


def test_read_split_reports_rejects_and_labels(tmp_path: Path) -> None:
    folder = tmp_path / "query"
    folder.mkdir()
    files = corrupt(folder)
    files["good"].rename(folder / "Cs137_near.sps")
    settings = PreprocessSettings(cap_kev=80, calibration_policy="default", default_calibration=XGD_CALIBRATION)
    binned, labels, rejects = read_split(folder, "query", ["Co-60", "Cs-137"], settings)
    assert sorted(binned.files) == ["Cs137_near.sps", "zero_calibration.sps"]
    assert labels.set_index("file").loc["Cs137_near.sps", ["Co-60", "Cs-137"]].tolist() == [0, 1]
    assert rejects.set_index("file")["action"].to_dict() == {
        str(folder / "truncated.sps"): "skipped",
        str(folder / "channels.sps"): "skipped",
        "zero_calibration.sps": "used",
    }


def write_maestro_spe(
    path: Path, counts: np.ndarray, live: float, real: float, calibration: tuple[float, float]
) -> None:
    """An ORTEC Maestro ASCII .SPE file: $SPEC_ID, $DATE_MEA, $MEAS_TIM, $DATA (first and last channel, then one
    count per line), $ENER_FIT and $MCA_CAL (offset, slope in keV)."""
    c0, c1 = calibration
    lines = [
        "$SPEC_ID:",
        "simulated CsI(Tl) spectrum",
        "$SPEC_REM:",
        "DET# 1",
        "$DATE_MEA:",
        "11/22/2026 10:00:00",
        "$MEAS_TIM:",
        f"{live:.0f} {real:.0f}",
        "$DATA:",
        f"0 {len(counts) - 1}",
        *[f"{int(c):8d}" for c in counts],
        "$ENER_FIT:",
        f"{c1:.6f} {c0:.6f}",
        "$MCA_CAL:",
        "2",
        f"{c1:.6E} {c0:.6E} keV",
        "$ENDRECORD:",
    ]
    path.write_text("\n".join(lines) + "\n")


def test_csi_spectrum_in_spe_format_is_read_by_becquerel_and_cs137_identified(tmp_path: Path) -> None:
    """Train for the CsI(Tl) preset (worse resolution, other efficiency, iodine and caesium escape peaks, another
    calibration: one config change), write one of its Cs-137 spectra as Maestro SPE, read it through becquerel and
    identify Cs-137."""
    detector = detector_block({**CONFIG, "detector": "csi"})
    demo = {**SIMULATOR, "channels": 1024, "calibration": [1.6, -2.0]}
    nuclides = CONFIG["nuclides"]
    lines = read_lines(REPO / CONFIG["lines"])
    model = build_model(lines, nuclides, detector, demo)
    rng = np.random.default_rng(7)
    background = {"K-40": 5000.0, "U-238": 300.0, "Th-232": 300.0, "continuum": 1.0}
    spectra, labels = [], []
    for k in range(len(nuclides) + 1):
        for _ in range(12):
            present = {nuclides[k]: rng.uniform(3e4, 1.5e5)} if k < len(nuclides) else {}
            counts = rng.poisson(expected_counts(model, present, rng.choice([10.0, 20.0]), 120, background))
            spectra.append(Spectrum(counts, 120, 122, 10.0, (1.6, -2.0)))
            labels.append([int(n in present) for n in nuclides])
    classifier = multilabel_model("logistic_regression", {"C": 10.0}, "arctan", 0.25, 0, 1)
    classifier.fit(average(rebin(spectra, 1500).rates, 5), np.array(labels))

    counts = rng.poisson(expected_counts(model, {"Cs-137": 8e4}, 15.0, 120, background))
    path = tmp_path / "csi_cs137.spe"
    write_maestro_spe(path, counts, 120, 122, (1.6, -2.0))
    read = read_with_becquerel(path, distance_cm=15.0)
    assert np.array_equal(read.counts, counts)
    assert read.calibration == pytest.approx((1.6, -2.0))
    assert read.live_time == 120 and read.start_time == datetime(2026, 11, 22, 10, 0)
    probability = classifier.predict_proba(average(rebin([read], 1500).rates, 5))[0]
    found = pd.Series(probability, index=nuclides)
    assert found["Cs-137"] > 0.5
    assert (found.drop("Cs-137") < 0.5).all()
    assert efficiency(662.0, detector["efficiency"]) > efficiency(662.0, DETECTOR["efficiency"])


def test_a_spectrum_without_a_usable_distance_is_classified_in_rejects_and_gets_no_activity(tmp_path: Path) -> None:
    """A simulated Cs-137 spectrum (60 kBq at 10 cm, 300 s) as .sps with its true distance and with distance 0, -5 cm
    and NaN: the three have a rejects row naming the distance and no activity (NaN, never 0 +- 0); the good one's
    activity is the truth within 5 %."""
    lines = read_lines(REPO / CONFIG["lines"])
    model = build_model(lines, CONFIG["nuclides"], DETECTOR, SIMULATOR)
    background = {**SIMULATOR["background"]["activity_bq"], "continuum": 1.0}
    counts = np.random.default_rng(3).poisson(expected_counts(model, {"Cs-137": 6e4}, 10.0, 300.0, background))
    folder = tmp_path / "query"
    folder.mkdir()
    calibration = tuple(SIMULATOR["calibration"])
    for name, distance in {"good": 10.0, "zero": 0.0, "negative": -5.0, "nan": float("nan")}.items():
        write_sps(Spectrum(counts, 300, 306, distance, calibration, f"{name}.sps"), folder / f"{name}.sps")
    binned, _, rejects = read_split(folder, "query", CONFIG["nuclides"], PreprocessSettings(cap_kev=1500))
    assert list(binned.files) == ["good.sps", "nan.sps", "negative.sps", "zero.sps"]
    assert rejects.set_index("file")["action"].to_dict() == {
        "nan.sps": "used",
        "negative.sps": "used",
        "zero.sps": "used",
    }
    for name, shown in (("zero", "0.0"), ("negative", "-5.0"), ("nan", "nan")):
        problem = rejects.set_index("file").loc[f"{name}.sps", "problem"]
        assert problem == f"source distance {shown} cm is not positive and finite: classified, no activity computed"

    fitter = LineFitter(source_lines(lines, CONFIG["nuclides"]), DETECTOR, 1500, calibration, 2.5, 1)
    background_rate = rebin_matrix(len(counts), calibration, 1500).T @ expected_counts(model, {}, 10.0, 1.0, background)
    identified = [["Cs-137"]] * 4
    line_table = activity_tables(
        binned, identified, [fitter] * 4, background_rate, lines, reference_date="2024-01-01", default_date=None
    )
    assert set(line_table["file"]) == {"good.sps"}
    probabilities = np.zeros((4, len(CONFIG["nuclides"])))
    table = predictions_table(binned.files, np.ones(4), probabilities, CONFIG["nuclides"], identified, line_table)
    activity = table.set_index("file")["activity_bq_Cs-137"]
    assert activity["good.sps"] == pytest.approx(6e4, rel=0.05)
    assert activity.drop("good.sps").isna().all()


def test_a_folder_of_only_unusable_spectra_stops_naming_each_file_and_its_reason(tmp_path: Path) -> None:
    files = corrupt(tmp_path)
    files.pop("good").unlink()
    dead = bytearray(files["channels"].read_bytes())
    struct.pack_into("<h", dead, 0, 64)
    struct.pack_into("<i", dead, 301, 0)
    (tmp_path / "dead.sps").write_bytes(bytes(dead))
    settings = PreprocessSettings(cap_kev=80)
    with pytest.raises(ValueError, match="every file is unusable") as error:
        read_split(tmp_path, "query", ["Cs-137"], settings)
    message = str(error.value)
    for name, reason in [
        ("channels.sps", "channel count 65 does not fit"),
        ("dead.sps", "live time 0.0 s is not positive and finite"),
        ("truncated.sps", "truncated"),
        ("zero_calibration.sps", "unusable energy calibration"),
    ]:
        assert f"{tmp_path / name}: {reason}" in message
