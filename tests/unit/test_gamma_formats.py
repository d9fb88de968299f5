"""The readers of real spectra: OpenGamma's Plotly HTML (HPGe) and BALDR's PyRIID SampleSet (NaI) from the declared
files, ANSI N42.42 XML (a document following the standard's structure), polynomial calibrations used as the files
give them, and corrupt files listed with the reason."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables

from fingerprintml.download import fetch, load_registry
from fingerprintml.gamma.formats import read_n42, read_plotly_html, read_sampleset
from fingerprintml.gamma.preprocess import rebin
from fingerprintml.gamma.spectrum import (
    Spectrum,
    SpectrumError,
    read_spectra,
    read_spectrum,
    read_spectrum_file,
    read_with_becquerel,
    write_sps,
)

REPO = Path(__file__).resolve().parents[2]
CS137, CO60, AM241 = 661.657, 1332.492, 59.5409


def declared(prefix: str, mirror: Path, folder: Path) -> Path:
    """Fetch the declared files under ``prefix`` from the mirror (checksums verified) into ``folder``, laid out as
    the workflow's downloads; return the folder holding them."""
    registry = load_registry(REPO / "resources" / "remote_files.yaml")
    keys = [key for key in registry if key.startswith(prefix)]
    assert keys, f"no declared files under {prefix}"
    for key in keys:
        fetch(registry[key], folder / key, mirror=str(mirror), retries=1, backoff=0)
    return folder / prefix


@pytest.fixture(scope="module")
def opengamma(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return declared("gamma/opengamma/", mirror, tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
def baldr(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return declared("gamma/baldr/", mirror, tmp_path_factory.mktemp("downloads"))


def raw_traces(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each trace's (x, y) of a Plotly HTML export, parsed here independently of the reader: the name, x and y
    fields of every trace object in the figure's script."""
    script = path.read_text().split("Plotly.newPlot(", 1)[1]
    traces = {}
    for match in re.finditer(r'\{"name":"([^"]+)".*?"x":(\[[^\]]*\]),"y":(\[[^\]]*\])', script):
        x = np.array([float(v) for v in json.loads(match.group(2))])
        traces[match.group(1)] = (x, np.array(json.loads(match.group(3)), dtype=float))
    return traces


def peak_energy(spectrum: Spectrum, low_kev: float, high_kev: float, counts: np.ndarray | None = None) -> float:
    """Centre energy (keV) of the channel with the most counts between ``low_kev`` and ``high_kev``."""
    counts = spectrum.counts if counts is None else counts
    edges = spectrum.channel_energies
    centres = 0.5 * (edges[:-1] + edges[1:])
    window = np.flatnonzero((centres > low_kev) & (centres < high_kev))
    return float(centres[window[np.argmax(counts[window])]])


def test_opengamma_html_exports_read_with_their_pages(opengamma: Path) -> None:
    """All 36 declared exports: 8,192 channels, counts = the stacked traces (background + clean), the page's live
    time, and energies reproduced by the fitted polynomial to their printed 0.01 keV."""
    files = sorted(opengamma.glob("*.html"))
    assert len(files) == 36
    for path in files:
        spectrum = read_spectrum(path)
        traces = raw_traces(path)
        gross = traces["Spectrum"][1] if "Spectrum" in traces else traces["Background"][1] + traces["Clean Spectrum"][1]
        energies = next(iter(traces.values()))[0]
        assert len(spectrum.counts) == 8192 and spectrum.counts.sum() == gross.sum(), path.name
        assert np.abs(spectrum.channel_energies[:-1] - energies).max() <= 0.0101, path.name
        assert spectrum.detector == "High Purity Germanium (HPGe)"
        if "Background" in traces:
            assert np.array_equal(spectrum.background, traces["Background"][1])
    live = {p.name: read_plotly_html(p).live_time for p in files}
    assert (live["Cs-137.html"], live["Ac-225.html"], live["Pitchblende.html"]) == (300.0, 1800.0, 600.0)
    assert live["Lu-177m.html"] == 300.0 and live["CeramicPipe1820.html"] == 1800.0  # pages of other names


def test_opengamma_calibrations_put_known_lines_at_their_energy(opengamma: Path) -> None:
    """Linear (Cs-137) and quadratic (Co-60, Am-241) calibrations as the files give them: each line's peak channel
    within an HPGe FWHM (1.2-1.8 keV here) of the evaluated energy; the quadratic term matters at 1332 keV."""
    cs137 = read_spectrum(opengamma / "Cs-137.html")
    co60 = read_spectrum(opengamma / "Co-60.html")
    am241 = read_spectrum(opengamma / "Am-241.html")
    assert cs137.higher_order == () and len(co60.higher_order) == 1
    assert abs(peak_energy(cs137, 640, 680) - CS137) < 0.7
    assert abs(peak_energy(co60, 1310, 1350) - CO60) < 0.7
    assert abs(peak_energy(am241, 50, 70) - AM241) < 0.5
    linear_only = Spectrum(co60.counts, 300, 300, 10, co60.calibration)
    assert abs(peak_energy(linear_only, 1310, 1350) - CO60) > 0.8


def test_baldr_sampleset_against_pandas(baldr: Path) -> None:
    """The 23 NaI spectra of measurements.h5 as pandas reads the SampleSet: counts, live and real time, distance
    and the seed of largest share, with the detector material of Detector.dat."""
    path = baldr / "measurements.h5"
    spectra = read_spectrum_file(path)
    table = pd.read_hdf(path, "spectra").to_numpy()
    info = pd.read_hdf(path, "info")
    sources = pd.read_hdf(path, "sources")
    assert len(spectra) == 23 and table.shape == (23, 1024)
    for row, spectrum in enumerate(spectra):
        assert np.array_equal(spectrum.counts, table[row]) and spectrum.counts.sum() == info["total_counts"][row]
        assert spectrum.live_time == pytest.approx(info["live_time"][row])
        assert spectrum.real_time == pytest.approx(info["real_time"][row])
        distance = info["distance_cm"][row]  # 0 for the background: no distance, so no activity (NaN)
        assert spectrum.distance_cm == pytest.approx(distance if distance > 0 else np.nan, nan_ok=True)
        assert spectrum.name.endswith(sources.columns[sources.iloc[row].to_numpy().argmax()][-1])
        assert spectrum.detector == "NaI"
    with pytest.raises(SpectrumError, match="holds 23 spectra"):
        read_spectrum(path)
    batch, rejects = read_spectra([path])  # a query folder's reader takes every spectrum of the file
    assert len(batch) == 23 and rejects.empty


def test_baldr_calibration_puts_known_lines_within_the_nai_resolution(baldr: Path) -> None:
    """PyRIID's ecal (offset -12 keV, gain 3090 keV over x = channel / 1023): the net (background-subtracted by
    live time) Cs-137 and Co-60 peaks within a NaI(Tl) FWHM (7 % at 662 keV, as 1/sqrt(E)) of their energies."""
    spectra = {s.name.split("] ")[1]: s for s in read_sampleset(baldr / "measurements.h5")}
    background = spectra["Background"]
    edges = spectra["Cs137 @ 111.8cm"].channel_energies
    assert edges[0] == pytest.approx(-12.0) and edges[1023] == pytest.approx(3078.0)
    for seed, line in [("Cs137 @ 111.8cm", CS137), ("Co60 @ 25.0cm", CO60), ("Co60 @ 25.0cm", 1173.228)]:
        spectrum = spectra[seed]
        net = spectrum.counts - background.counts * spectrum.live_time / background.live_time
        fwhm = 0.07 * CS137 * np.sqrt(line / CS137)
        assert abs(peak_energy(spectrum, line - 2 * fwhm, line + 2 * fwhm, net) - line) < fwhm, seed


N42_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<RadInstrumentData xmlns="http://physics.nist.gov/N42/2011/N42" n42DocUUID="d72b7fa7-4a20-43d4-b1b2-7e3b8c5f6e25">
  <RadInstrumentDataCreatorName>FingerprintML test</RadInstrumentDataCreatorName>
  <RadInstrumentInformation id="RadInstrumentInformation-1">
    <RadInstrumentManufacturerName>Example</RadInstrumentManufacturerName>
    <RadInstrumentModelName>Handheld 1</RadInstrumentModelName>
    <RadInstrumentClassCode>Radionuclide Identifier</RadInstrumentClassCode>
  </RadInstrumentInformation>
  <RadDetectorInformation id="RadDetectorInformation-1">
    <RadDetectorCategoryCode>Gamma</RadDetectorCategoryCode>
    <RadDetectorKindCode>NaI</RadDetectorKindCode>
  </RadDetectorInformation>
  <EnergyCalibration id="EnergyCalibration-1">
    <CoefficientValues>-5.0 3.0 0.002</CoefficientValues>
  </EnergyCalibration>
  <RadMeasurement id="RadMeasurement-1">
    <MeasurementClassCode>Foreground</MeasurementClassCode>
    <StartDateTime>2026-11-22T10:00:00-07:00</StartDateTime>
    <RealTimeDuration>PT1M0.5S</RealTimeDuration>
    <Spectrum id="RadMeasurement-1-Spectrum-1" radDetectorInformationReference="RadDetectorInformation-1"
              energyCalibrationReference="EnergyCalibration-1">
      <LiveTimeDuration>PT59.61S</LiveTimeDuration>
      <ChannelData compressionCode="CountedZeroes">0 3 7 12 0 2 5 0 1 9</ChannelData>
    </Spectrum>
  </RadMeasurement>
  <RadMeasurement id="RadMeasurement-2">
    <MeasurementClassCode>Background</MeasurementClassCode>
    <StartDateTime>2026-11-22T09:00:00-07:00</StartDateTime>
    <RealTimeDuration>PT300S</RealTimeDuration>
    <Spectrum id="RadMeasurement-2-Spectrum-1" radDetectorInformationReference="RadDetectorInformation-1"
              energyCalibrationReference="EnergyCalibration-1">
      <LiveTimeDuration>PT299.5S</LiveTimeDuration>
      <ChannelData>1 0 0 2 3 0 0 4 0 6 1</ChannelData>
    </Spectrum>
  </RadMeasurement>
</RadInstrumentData>
"""


def test_n42_document_with_counted_zeroes_and_a_quadratic_calibration(tmp_path: Path) -> None:
    path = tmp_path / "handheld.n42"
    path.write_text(N42_DOCUMENT)
    foreground, background = read_spectrum_file(path, distance_cm=30.0)
    assert foreground.counts.tolist() == [0, 0, 0, 7, 12, 0, 0, 5, 0, 9]
    assert background.counts.tolist() == [1, 0, 0, 2, 3, 0, 0, 4, 0, 6, 1]
    assert (foreground.live_time, foreground.real_time) == (59.61, 60.5)
    assert (background.live_time, background.real_time) == (299.5, 300.0)
    assert foreground.start_time == datetime(2026, 11, 22, 10, tzinfo=timezone(timedelta(hours=-7)))
    assert foreground.channel_energies[[0, 4, 10]] == pytest.approx([-5.0, -5 + 12 + 0.032, -5 + 30 + 0.2])
    assert foreground.detector == "NaI" and foreground.distance_cm == 30.0
    assert foreground.name == "handheld.n42[RadMeasurement-1/RadMeasurement-1-Spectrum-1]"
    with pytest.raises(SpectrumError, match="holds 2 spectra"):
        read_spectrum(path)
    single = tmp_path / "single.xml"
    single.write_text(
        re.sub(r'<RadMeasurement id="RadMeasurement-2">.*?</RadMeasurement>', "", N42_DOCUMENT, flags=re.S)
    )
    assert read_spectrum(single).counts.sum() == 33 and read_n42(single)[0].name == "single.xml"


def test_nonlinear_calibration_rebinning_conserves_counts_and_places_the_line(tmp_path: Path) -> None:
    """A Co-60 line drawn in channel space of a quadratic calibration lands in the 1332 keV bin after rebinning;
    all counts below the cap are kept; .sps, linear only, refuses the spectrum."""
    polynomial = (0.0833, 0.2035, -2.434e-8)
    edges = np.polynomial.polynomial.polyval(np.arange(8193), polynomial)
    channel = np.interp(CO60, edges, np.arange(8193))
    counts = np.round(1e5 * np.exp(-0.5 * ((np.arange(8192) + 0.5 - channel) / 3.0) ** 2)).astype(np.int64) + 2
    spectrum = Spectrum(counts, 300, 300, 10, (polynomial[1], polynomial[0]), higher_order=polynomial[2:])
    binned = rebin([spectrum], 1700)
    assert binned.counts.sum() == pytest.approx(counts.sum(), rel=1e-12)
    assert int(np.argmax(binned.counts[0])) == 1332
    linear = rebin([Spectrum(counts, 300, 300, 10, (polynomial[1], polynomial[0]))], 1700)
    assert int(np.argmax(linear.counts[0])) == 1333
    with pytest.raises(ValueError, match="linear calibration only"):
        write_sps(spectrum, tmp_path / "nonlinear.sps")


def test_becquerel_reads_a_quadratic_calibration_as_the_file_gives_it(tmp_path: Path) -> None:
    counts = np.random.default_rng(3).poisson(20, 1024)
    path = tmp_path / "quadratic.spe"
    lines = ["$SPEC_ID:", "quadratic", "$DATE_MEA:", "11/22/2026 10:00:00", "$MEAS_TIM:", "100 101", "$DATA:"]
    lines += ["0 1023", *[f"{int(c):8d}" for c in counts], "$MCA_CAL:", "3", "-2.0E+00 1.5E+00 4.0E-05 keV"]
    path.write_text("\n".join([*lines, "$ENDRECORD:"]) + "\n")
    spectrum = read_with_becquerel(path, distance_cm=10.0)
    assert spectrum.polynomial == pytest.approx((-2.0, 1.5, 4e-5))
    assert np.array_equal(spectrum.counts, counts)


def corrupt_files(folder: Path) -> dict[str, Path]:
    """Broken HTML, N42 and HDF5 files, each with the words its reject row must give."""
    files = {
        "no Plotly figure": ("plain.html", "<html><body>no plot</body></html>"),
        "not valid JSON": ("broken.html", '<script>Plotly.newPlot(\'plotly-output\',[{"name":"Spectrum",</script>'),
        "not well-formed XML": ("cut.n42", N42_DOCUMENT[:700]),
        "CountedZeroes": ("zeros.n42", N42_DOCUMENT.replace("0 1 9</ChannelData>", "9 0</ChannelData>")),
        "ISO 8601 duration": ("duration.n42", N42_DOCUMENT.replace("PT59.61S", "59.61 s")),
        "becquerel could not read it": ("text.h5", "not an HDF5 file"),
        "holds no live time": (
            "no_page.html",
            'Plotly.newPlot(\'p\',[{"name":"Spectrum","x":[0,0.5,1],"y":[4,5,6]}],{})',
        ),
        "no EnergyCalibration/CoefficientValues": (
            "uncalibrated.n42",
            re.sub(r"<EnergyCalibration .*?</EnergyCalibration>", "", N42_DOCUMENT, flags=re.S),
        ),
    }
    paths = {}
    for reason, (name, text) in files.items():
        paths[reason] = folder / name
        paths[reason].write_text(text)
    sampleset = folder / "no_info_columns.h5"
    with tables.open_file(str(sampleset), "w") as store:
        groups = {name: store.create_group("/", name) for name in ("spectra", "info", "sources")}
        for group in groups.values():
            group._v_attrs.nblocks = 1
        store.create_array(groups["spectra"], "block0_values", np.ones((2, 8)))
        store.create_array(groups["info"], "block0_items", np.array([b"live_time"]))
        store.create_array(groups["info"], "block0_values", np.ones((2, 1)))
        groups["sources"]._v_attrs.block0_items_nlevels = 1
        store.create_array(groups["sources"], "block0_items_level0", np.array([b"Cs137"]))
        store.create_array(groups["sources"], "block0_items_label0", np.array([0], dtype=np.int8))
        store.create_array(groups["sources"], "block0_values", np.ones((2, 1)))
    paths["the info table lacks"] = sampleset
    return paths


def test_corrupt_html_n42_and_h5_files_are_rejects_with_the_reason(tmp_path: Path) -> None:
    paths = corrupt_files(tmp_path)
    spectra, rejects = read_spectra(list(paths.values()))
    assert spectra == [] and len(rejects) == len(paths)
    problems = dict(zip(rejects["file"], rejects["problem"], strict=True))
    for reason, path in paths.items():
        assert reason in problems[str(path)] and str(path) in problems[str(path)], reason
        assert path.is_file()


def test_calibration_from_its_own_peaks_recovers_the_files_calibration(opengamma: Path) -> None:
    """The Eu-152 HPGe spectrum with its calibration withheld: becquerel's peak finder and gain search matched to
    the Eu-152 lines, a quadratic fitted; it agrees with the file's own calibration within 0.3 keV over
    100-1400 keV, the residuals within 0.2 keV. A spectrum of flat noise has no peaks to match: an error."""
    from fingerprintml.gamma.autocalibrate import calibrate_from_peaks

    measured = read_spectrum(opengamma / "Eu-152.html")
    uncalibrated = Spectrum(measured.counts, measured.live_time, measured.real_time, 10.0, (1.0, 0.0), "Eu-152")
    lines = [121.7817, 244.6974, 344.2785, 778.9045, 964.057, 1112.076, 1408.013]
    calibrated, residuals = calibrate_from_peaks(uncalibrated, lines, 3000, 6.0, order=2, gain_range=(0.1, 0.5))
    assert len(residuals) >= 5 and residuals["residual_kev"].abs().max() < 0.2
    inside = (measured.channel_energies > 100) & (measured.channel_energies < 1400)
    assert np.abs(calibrated.channel_energies - measured.channel_energies)[inside].max() < 0.3
    assert "fitted to" in calibrated.notes[-1]
    noise = Spectrum(np.random.default_rng(5).poisson(50, 4096), 100, 100, 10.0, (1.0, 0.0), "noise")
    with pytest.raises(SpectrumError, match="noise"):
        calibrate_from_peaks(noise, lines, 2000, 6.0, gain_range=(0.1, 0.5))
